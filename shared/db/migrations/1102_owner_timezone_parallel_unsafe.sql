-- owner_timezone() (1100) catches a bad zone name in an EXCEPTION block, i.e. a subtransaction, which Postgres
-- 15/16 cannot start inside a parallel operation ("cannot start subtransactions during a parallel operation"):
-- once a dashboard table grows and the planner picks a parallel scan, the statement would fail. PARALLEL UNSAFE
-- keeps the statements that call it in the leader (they are small, index-only counts).
ALTER FUNCTION owner_timezone(text, text) PARALLEL UNSAFE;
