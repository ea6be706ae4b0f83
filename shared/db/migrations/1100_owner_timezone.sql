-- The dashboard's statements (shared/dashboard/stats.py) turn the owner's `timezone` setting into "today".
-- They checked the name against pg_timezone_names, which reads every zone file on each call: 120-140 ms per
-- statement once the setting exists (bench/polling.py seeds it). This checks a name by using it: a zone
-- Postgres cannot read raises invalid_parameter_value, caught here (one subtransaction, microseconds).
-- Only names shaped like a zone ("Area/City", "UTC", "EST5EDT", "Etc/GMT+3", every name pg_timezone_names lists;
-- tests/test_dashboard_owner_timezone.py) are tried. One difference: a POSIX rule shaped like a name ("XYZ+3"),
-- which pg_timezone_names does not list, is now read as that rule instead of falling back.
CREATE FUNCTION owner_timezone(setting text, fallback text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF setting IS NULL OR setting !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' THEN
        RETURN fallback;
    END IF;
    PERFORM now() AT TIME ZONE setting;
    RETURN setting;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN fallback;
END
$$;
