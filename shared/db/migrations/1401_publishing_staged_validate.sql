-- The CHECK 1400 added NOT VALID, validated apart: migrate.py applies each file in its own transaction, so this
-- scan runs under SHARE UPDATE EXCLUSIVE only (1400's ACCESS EXCLUSIVE was released at its commit).
ALTER TABLE publications VALIDATE CONSTRAINT publications_state_check;
