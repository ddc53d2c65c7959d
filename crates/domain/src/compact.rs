//! What a judged row can leave out on its way to storage, and how it is
//! restored. A million-row import carried every cell three times (as read,
//! normalized, and the line's fields in file order) through the queue and
//! into PostgreSQL; usually the second and third follow from the first.
//! Leaving them out when they do, and restoring them exactly when read,
//! roughly halves what each row costs to send and store.

use crate::reader::RawRow;
use crate::row::Row;
use crate::template::Column;

/// The normalized value a cell has when normalizing changed nothing: the
/// cell trimmed, or none when it is blank.
pub fn unchanged(cell: &str) -> Option<&str> {
    let trimmed = crate::reader::trimmed(cell);
    (!trimmed.is_empty()).then_some(trimmed)
}

/// A judged row's normalized values that differ from [`unchanged`] of
/// their cell, in column order. A cell that has no normalized value (an
/// amount or date that did not parse) is listed with an empty text: no
/// normalized value is ever empty. Values are compared with their cells
/// in place ([`Row::normalized_text`]), so the values that equal their
/// cells, most of them on most rows, are never built.
pub fn row_changes(row: &Row) -> Vec<(Column, String)> {
    let mut scratch = String::new();
    let mut changes = Vec::new();
    for column in Column::ALL {
        let actual = row.normalized_text(column, &mut scratch);
        match row.raw.cell_text(column) {
            Some(cell) if actual != unchanged(cell) => {
                changes.push((column, actual.unwrap_or("").to_string()));
            }
            None => changes.extend(actual.map(|value| (column, value.to_string()))),
            Some(_) => {}
        }
    }
    changes
}

/// The normalized values, from the cells and [`row_changes`].
pub fn restore_normalized<'a>(
    cells: impl IntoIterator<Item = (Column, &'a str)>,
    changes: &[(Column, String)],
) -> Vec<(Column, String)> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (column, cell) in cells {
        seen.push(column);
        let value = match text_of(changes, column) {
            Some("") => None,
            Some(changed) => Some(changed),
            None => unchanged(cell),
        };
        if let Some(v) = value {
            out.push((column, v.to_string()));
        }
    }
    for (column, value) in changes {
        if !seen.contains(column) && !value.is_empty() {
            out.push((*column, value.clone()));
        }
    }
    out
}

/// Texts by template column, packed for the queue: bit i of the mask is
/// set when `Column::ALL[i]` has a text, and the texts follow in that
/// order. Cheaper at both ends than a map of column names (no hashing, one
/// allocation per text). Of two pairs for one column, the first is kept.
pub fn pack(mut pairs: Vec<(Column, String)>) -> (u32, Vec<String>) {
    pairs.sort_by_key(|(column, _)| column.index());
    pairs.dedup_by_key(|(column, _)| *column);
    let mask = pairs
        .iter()
        .fold(0u32, |mask, (column, _)| mask | 1 << column.index());
    (mask, pairs.into_iter().map(|(_, text)| text).collect())
}

/// The texts of [`pack`] by column position (`None`: no text), up to the
/// last column that has one; `None` when the mask and the texts disagree.
pub fn unpack(mask: u32, texts: &[String]) -> Option<Vec<Option<&str>>> {
    if !packed_rightly(mask, texts) {
        return None;
    }
    let width = (u32::BITS - mask.leading_zeros()) as usize;
    let mut texts = texts.iter().map(String::as_str);
    Some(
        (0..width)
            .map(|i| {
                if mask & 1 << i != 0 {
                    texts.next()
                } else {
                    None
                }
            })
            .collect(),
    )
}

/// One column's text of [`pack`], found by counting the mask's bits below
/// it instead of laying every column out (the recorder wants one cell of
/// every row); `None` when it has no text or the packing is wrong.
pub fn text_at(mask: u32, texts: &[String], column: Column) -> Option<&str> {
    let at = position(mask, texts.len(), column)?;
    texts.get(at).map(String::as_str)
}

/// Where among `count` packed texts `column`'s is, for texts held as
/// something other than `String`s; `None` as for [`text_at`].
pub fn position(mask: u32, count: usize, column: Column) -> Option<usize> {
    let bit = 1u32 << column.index();
    (counts_rightly(mask, count) && mask & bit != 0)
        .then(|| (mask & (bit - 1)).count_ones() as usize)
}

/// Whether [`unpack`] takes these: one text per column named, and only
/// template columns named. Checks without building anything.
pub fn packed_rightly(mask: u32, texts: &[String]) -> bool {
    counts_rightly(mask, texts.len())
}

/// [`packed_rightly`] for `count` texts held in any form.
pub fn counts_rightly(mask: u32, count: usize) -> bool {
    mask.count_ones() as usize == count && mask >> Column::ALL.len() == 0
}

/// The text a list of `(column, text)` pairs holds for `column`.
fn text_of(pairs: &[(Column, String)], column: Column) -> Option<&str> {
    pairs
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, v)| v.as_str())
}

/// Whether the line's fields follow from its cells and the header's
/// columns (each field read as a column, unaltered), so they need not be
/// kept: [`fields_from_cells`] rebuilds them.
pub fn fields_follow_from_cells(raw: &RawRow, columns: &[Option<Column>]) -> bool {
    if raw.fields_are_cells {
        // `columns` are the header's that read the row, so they give
        // the fields back.
        return raw.field_count == columns.len();
    }
    raw.fields.len() == columns.len()
        && raw
            .fields
            .iter()
            .zip(columns)
            .all(|(field, column)| column.is_some_and(|c| raw.cell_text(c) == Some(field)))
}

/// The line's fields in file order, rebuilt from the header's columns and
/// the cells; see [`fields_follow_from_cells`].
pub fn fields_from_cells<'a>(
    columns: &[Option<Column>],
    cell: impl Fn(Column) -> Option<&'a str>,
) -> Vec<String> {
    columns
        .iter()
        .map(|column| column.and_then(&cell).unwrap_or("").to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ParseOptions;
    use crate::reader::ImportReader;

    fn read(csv: &str) -> (Vec<Row>, Vec<Option<Column>>) {
        let mut reader = ImportReader::csv(csv.as_bytes()).expect("a readable header");
        let columns = reader.header().used().into_iter().map(|(_, c)| c).collect();
        let mut out = Vec::new();
        while let Some(raw) = reader.next_row().expect("readable rows") {
            out.push(Row::validate(raw, &ParseOptions::default()));
        }
        (out, columns)
    }

    fn cells(row: &Row) -> Vec<(Column, &str)> {
        Column::ALL
            .iter()
            .filter_map(|c| row.raw.cell_text(*c).map(|v| (*c, v)))
            .collect()
    }

    const FILE: &str = "patient_id,patient_account_number,last_name,first_name,date_of_birth,patient_balance,insurance_balance\n\
        P1,0001,Doe,Jane,1970-01-02,10.00,0.00\n\
        P2, 0002 ,Roe,  Rick ,01/02/1970,\"$1,234.5\",abc\n\
        P3,,Poe,Edgar,,,\n";

    #[test]
    fn normalized_values_are_restored_exactly_from_the_cells_and_the_changes() {
        let (rows, _) = read(FILE);
        for row in &rows {
            let changes = row_changes(row);
            assert_eq!(restore_normalized(cells(row), &changes), row.normalized());
        }
    }

    #[test]
    fn a_clean_row_needs_no_normalized_changes_at_all() {
        let (rows, _) = read(FILE);
        assert_eq!(row_changes(&rows[0]), vec![]);
        let changed = row_changes(&rows[1]);
        assert!(changed.iter().any(|(c, _)| *c == Column::PatientBalance));
        // An amount that did not parse has no normalized value: kept as "".
        assert!(changed.contains(&(Column::InsuranceBalance, String::new())));
    }

    #[test]
    fn fields_are_left_out_only_when_the_cells_give_them_back() {
        let (rows, columns) = read(FILE);
        for (row, line) in rows.iter().zip(FILE.lines().skip(1)) {
            if fields_follow_from_cells(&row.raw, &columns) && !line.contains('"') {
                let rebuilt = fields_from_cells(&columns, |c| row.raw.cell_text(c));
                assert_eq!(rebuilt, line.split(',').collect::<Vec<_>>());
            }
        }
        assert!(fields_follow_from_cells(&rows[0].raw, &columns));
        assert!(rows[0].raw.fields_are_cells);
    }

    const HEAD: &str = "patient_id,last_name,first_name,date_of_birth,patient_balance";

    #[test]
    fn an_unmapped_column_or_an_excel_guarded_cell_keeps_the_fields() {
        let (rows, columns) = read(&format!(
            "{HEAD},favourite colour\nP1,Doe,Jane,1970-01-02,1.00,teal\n"
        ));
        assert!(!fields_follow_from_cells(&rows[0].raw, &columns));
        let (rows, columns) = read(&format!("{HEAD}\n=\"P1\",Doe,Jane,1970-01-02,1.00\n"));
        assert!(!fields_follow_from_cells(&rows[0].raw, &columns));
    }

    #[test]
    fn packed_texts_unpack_to_their_columns_positions() {
        let (mask, texts) = pack(vec![
            (Column::InsuranceBalance, "0.00".to_string()),
            (Column::PatientAccountNumber, "007".to_string()),
        ]);
        assert_eq!(texts, vec!["007", "0.00"]);
        let unpacked = unpack(mask, &texts).unwrap();
        assert_eq!(unpacked.len(), Column::InsuranceBalance.index() + 1);
        assert_eq!(unpacked[Column::PatientAccountNumber.index()], Some("007"));
        assert_eq!(unpacked[Column::InsuranceBalance.index()], Some("0.00"));
        assert_eq!(unpacked.iter().flatten().count(), 2);
        assert_eq!(unpack(0, &[]), Some(vec![]));
    }

    #[test]
    fn one_columns_text_is_the_one_unpacking_lays_out_there() {
        let (mask, texts) = pack(vec![
            (Column::InsuranceBalance, "0.00".to_string()),
            (Column::PatientAccountNumber, "007".to_string()),
            (Column::LastName, "Doe".to_string()),
        ]);
        let unpacked = unpack(mask, &texts).unwrap();
        for column in Column::ALL {
            let laid_out = unpacked.get(column.index()).copied().flatten();
            assert_eq!(text_at(mask, &texts, column), laid_out, "{column:?}");
        }
        assert_eq!(text_at(0b11, &["a".to_string()], Column::ALL[0]), None);
    }

    #[test]
    fn a_mask_that_disagrees_with_its_texts_is_refused() {
        assert_eq!(unpack(0b11, &["a".to_string()]), None);
        assert_eq!(unpack(1 << Column::ALL.len(), &["a".to_string()]), None);
    }
}
