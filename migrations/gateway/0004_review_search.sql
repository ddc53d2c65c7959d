-- The review's search by account number, and the duplicate-patient query,
-- stay fast on imports of hundreds of thousands of rows.
CREATE INDEX import_rows_by_account ON import_rows (import_id, (cells->>'patient_account_number'));
CREATE INDEX import_rows_by_patient ON import_rows (import_id, matched_patient_id);
