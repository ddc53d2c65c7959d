-- Every recorded row put a random key into this index: with the account
-- index it cost PostgreSQL about 5 s of a 10^6-row import's recording.
-- Nothing that runs while an import is read needed it: the duplicate
-- check at the end groups all the rows anyway. The review's search (a
-- line or an account number, migration 0011's index) looks a patient id
-- up only when nothing else matched; the saved page lists the patients
-- posted in line order from the primary key.
DROP INDEX import_rows_by_patient;
