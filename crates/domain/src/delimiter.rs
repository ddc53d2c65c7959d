//! Delimiter sniffing: which byte separates the fields of an uploaded file.
//!
//! Exports are "CSV" in name only: European Excel writes `;`, "Unicode
//! text" is tab-separated and some EHR systems use `|`. Billing leads cannot
//! be asked which one they have, so the header line decides: it is the one
//! line whose cells are known not to contain patient data, and every real
//! header has several fields.

/// The delimiters real exports use.
pub const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Picks the delimiter of a header line (the bytes up to the first unquoted
/// newline; the slice may contain more lines after it, or be cut mid-line).
/// Counts each candidate outside double quotes; the most frequent wins; ties
/// prefer the order of CANDIDATES; none found → b','.
///
/// Only the header is looked at because data lines hold free text (notes,
/// addresses) whose commas and semicolons say nothing about the format.
/// A bare CR also ends the line, for old Mac-style exports.
pub fn sniff(header: &[u8]) -> u8 {
    let mut counts = [0usize; CANDIDATES.len()];
    let mut quoted = false;
    for &b in header {
        match b {
            // A doubled quote inside quotes toggles twice, so it stays quoted.
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        // Strictly greater, so on a tie the earlier candidate stays.
        if counts[i] > counts[best] {
            best = i;
        }
    }
    // With no candidate at all, `best` is still 0, i.e. b','.
    CANDIDATES[best]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_candidate_is_found() {
        assert_eq!(sniff(b"Account,Last,First,Balance"), b',');
        assert_eq!(sniff(b"Account;Last;First;Balance"), b';');
        assert_eq!(sniff(b"Account\tLast\tFirst\tBalance"), b'\t');
        assert_eq!(sniff(b"Account|Last|First|Balance"), b'|');
    }

    #[test]
    fn quoted_delimiters_are_ignored() {
        assert_eq!(sniff(b"\"Last, First\";dob"), b';');
        assert_eq!(sniff(b"\"a,b,c,d\"|\"e,f\"|g"), b'|');
        // A doubled quote does not end the quoted field.
        assert_eq!(sniff(b"\"Say \"\"a,b,c\"\"\";x;y"), b';');
    }

    #[test]
    fn quoted_newlines_do_not_end_the_header() {
        assert_eq!(sniff(b"\"Last\nName\";First;Dob\n1,2,3,4,5,6"), b';');
    }

    #[test]
    fn ties_prefer_the_order_of_candidates() {
        assert_eq!(sniff(b"a,b;c"), b',');
        assert_eq!(sniff(b"a;b\tc"), b';');
        assert_eq!(sniff(b"a|b\tc"), b'\t');
        assert_eq!(sniff(b"a|b;c\td,e"), b',');
    }

    #[test]
    fn the_most_frequent_wins() {
        assert_eq!(sniff(b"Last, First;Dob;Balance"), b';');
        assert_eq!(sniff(b"a;b|c|d"), b'|');
    }

    #[test]
    fn no_delimiter_means_comma() {
        assert_eq!(sniff(b"Balance"), b',');
        assert_eq!(sniff(b""), b',');
        assert_eq!(sniff(b"\n"), b',');
        assert_eq!(sniff(b"\"a,b\""), b',');
    }

    #[test]
    fn only_the_header_line_counts() {
        assert_eq!(
            sniff(b"Last\tFirst\tBalance\r\nPe\xC3\xB1a, Jr.;x,y,z,w\t\n"),
            b'\t'
        );
        assert_eq!(sniff(b"Last|First\n;;;;;;;;,,,,,,,,"), b'|');
        assert_eq!(sniff(b"Last;First\rA,B,C,D"), b';');
    }

    #[test]
    fn a_header_cut_mid_line_still_counts() {
        assert_eq!(sniff(b"Account;Last;Fir"), b';');
        assert_eq!(sniff(b"Account;\"Last,"), b';');
    }

    proptest! {
        #[test]
        fn joined_names_sniff_their_delimiter(
            names in proptest::collection::vec("[A-Za-z0-9 _.()#/&'-]{0,20}", 2..30),
            delimiter in proptest::sample::select(CANDIDATES.to_vec()),
            rest in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut header = names.join(&(delimiter as char).to_string()).into_bytes();
            header.extend_from_slice(b"\r\n");
            header.extend_from_slice(&rest);
            prop_assert_eq!(sniff(&header), delimiter);
        }

        #[test]
        fn never_picks_anything_but_a_candidate(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(CANDIDATES.contains(&sniff(&bytes)));
        }
    }
}
