//! Minimal Excel workbooks (.xlsx) as a test needs them: one sheet of
//! inline strings, numbers and date-formatted serials, laid out the way
//! Excel writes them, built in memory with the zip writer.

use std::io::{Cursor, Write};

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG_REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

/// One cell of a sheet.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Text, stored as an inline string (`t="inlineStr"`).
    Text(&'a str),
    /// A number, written as it would be stored (`<v>1234.5</v>`).
    Number(&'a str),
    /// A date as Excel stores it: a serial number in a cell whose style
    /// (cellXfs index 1) is the built-in date format 14.
    Date(u32),
    /// A styled cell with no value, as Excel leaves formatted blanks.
    Blank,
}

/// A row number (from 1, as Excel shows it) and its cells from column A.
pub type Row<'a> = (u32, Vec<Cell<'a>>);

/// Rows numbered 1, 2, 3, … in order.
pub fn dense<'a>(rows: Vec<Vec<Cell<'a>>>) -> Vec<Row<'a>> {
    (1..).zip(rows).collect()
}

/// Excel's column letters: 0 → A, 25 → Z, 26 → AA.
fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `<sheetData>` content of `rows`.
fn sheet_data(rows: &[Row<'_>]) -> String {
    let mut xml = String::new();
    for (number, cells) in rows {
        xml.push_str(&format!(r#"<row r="{number}">"#));
        for (i, cell) in cells.iter().enumerate() {
            let at = format!("{}{number}", column_letters(i));
            xml.push_str(&match cell {
                Cell::Text(t) => format!(
                    r#"<c r="{at}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                    escape(t)
                ),
                Cell::Number(n) => format!(r#"<c r="{at}"><v>{}</v></c>"#, escape(n)),
                Cell::Date(serial) => format!(r#"<c r="{at}" s="1"><v>{serial}</v></c>"#),
                Cell::Blank => format!(r#"<c r="{at}" s="1"/>"#),
            });
        }
        xml.push_str("</row>");
    }
    xml
}

/// A workbook of one visible sheet holding `rows`.
pub fn workbook(rows: &[Row<'_>]) -> Vec<u8> {
    workbook_with_sheet_xml(&sheet_data(rows))
}

/// A workbook whose one sheet has `data` inside `<sheetData>` verbatim.
pub fn workbook_with_sheet_xml(data: &str) -> Vec<u8> {
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#
                .to_string(),
        ),
        (
            "_rels/.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Balances" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/styles.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{MAIN_NS}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#
            ),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN_NS}"><sheetData>{data}</sheetData></worksheet>"#
            ),
        ),
    ];
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in parts {
        // Cannot fail: writing to memory.
        zip.start_file(name, options).expect("zip part");
        zip.write_all(body.as_bytes()).expect("zip part body");
    }
    zip.finish().expect("zip directory").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn a_workbook_starts_with_the_zip_signature() {
        let bytes = workbook(&dense(vec![vec![Cell::Text("a & <b>")]]));
        assert!(bytes.starts_with(b"PK\x03\x04"));
    }
}
