-- A line Save did not post because, by then, its patient had an active BF
-- claim from another import (e.g. the same file uploaded and saved twice).
ALTER TABLE import_rows
    ADD COLUMN not_posted text;

ALTER TABLE imports
    ADD COLUMN claims_refused integer NOT NULL DEFAULT 0;
