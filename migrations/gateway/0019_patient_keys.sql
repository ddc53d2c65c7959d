-- A 64-bit key of each line's matched patient (FNV-1a of the patient id's
-- UTF-8 bytes, written by the gateway as it records a block; NULL for a
-- line without a matched patient). Finishing a parse counts the import's
-- patients and finds those named on more than one line by sorting these
-- keys in the gateway, where PostgreSQL grouped 10^6 patient ids with a
-- hash aggregate on one core (0.6-0.8 s) while the other core sat idle.
-- Only lines whose key is shared are then grouped by their ids, so a
-- key's collision never merges two patients.
-- A block recorded before this column has it NULL; finishing fills it in.
ALTER TABLE import_row_blocks ADD COLUMN patient_keys bigint[];
-- Random-looking values do not compress; the planner has no use for them.
ALTER TABLE import_row_blocks
    ALTER COLUMN patient_keys SET STORAGE EXTERNAL,
    ALTER COLUMN patient_keys SET STATISTICS 0;
