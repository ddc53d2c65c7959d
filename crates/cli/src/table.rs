//! Plain-text tables with aligned columns, for `list` and `claims`.

/// A table built row by row and rendered with two spaces between columns.
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings, all left-aligned.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            right: vec![false; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Right-align the given columns: numbers and money read better that way.
    pub fn right_align(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    /// Add a row; missing cells render empty, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines, each ending in a newline, without trailing spaces.
    pub fn render(&self) -> String {
        let cell = |row: &[String], i: usize| row.get(i).map_or("", String::as_str).to_owned();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (&width, &right)) in widths.iter().zip(&self.right).enumerate() {
                let text = cell(row, i);
                let pad = width.saturating_sub(text.chars().count());
                if i > 0 {
                    line.push_str("  ");
                }
                if right {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(&text);
                } else {
                    line.push_str(&text);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_numbers_align_right() {
        let mut t = Table::new(&["ID", "AMOUNT", "NOTE"]).right_align(&[1]);
        t.row(vec!["a".into(), "1.00".into(), "x".into()]);
        t.row(vec!["bbb".into(), "1,000.00".into()]);
        assert_eq!(
            t.render(),
            "ID     AMOUNT  NOTE\n\
             a        1.00  x\n\
             bbb  1,000.00\n"
        );
    }
}
