-- A row's normalized values are kept as the changes from its cells
-- (bf_domain::compact), which for a clean export is nothing: the full map
-- cost a third of what recording a row did. Rows recorded before keep
-- their full map in normalized, with normalized_changes NULL; the gateway
-- restores the full map from whichever a row has. Likewise raw is '[]'
-- when the line's fields follow from the cells and the header.
ALTER TABLE import_rows ADD COLUMN normalized_changes jsonb;
