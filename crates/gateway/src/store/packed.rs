//! A row's texts by template column (its cells, or the changes normalizing
//! made to them) as one `bytea` (migration 0018) instead of a `text[]`.
//! PostgreSQL built an array of 17 slots from every row's cells on the way
//! in, about a tenth of what it spent recording a big import; a `bytea` it
//! copies as it comes. Only this gateway reads the texts back (for review
//! and the error report), so no SQL needs to see inside them.
//!
//! The layout: a varint bit mask of the [`bf_domain::Column::ALL`]
//! positions that have a text, then each of those texts in position order
//! as a varint byte length and its UTF-8 bytes (prost's varints).

use prost::encoding::{decode_varint, encode_varint};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::Postgres;

/// Texts by column position (`None`: the column has none), encoded
/// straight into the statement's buffer when bound.
pub struct Packed<'a>(pub &'a [Option<&'a str>]);

/// Why stored texts could not be read back: the bytes are not in the
/// layout above. Nothing this gateway writes gives that; a damaged or
/// foreign value does.
#[derive(Debug, thiserror::Error)]
#[error("stored row texts are not in the packed layout: {0}")]
pub struct Corrupt(&'static str);

/// More positions than the mask has bits: no template has that many.
const MAX_POSITIONS: usize = u64::BITS as usize;

impl sqlx::Type<Postgres> for Packed<'_> {
    fn type_info() -> PgTypeInfo {
        <Vec<u8> as sqlx::Type<Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, Postgres> for Packed<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        write(self.0, buf)?;
        Ok(IsNull::No)
    }
}

/// Appends `texts` to `out` in the packed layout.
pub fn write(texts: &[Option<&str>], out: &mut Vec<u8>) -> Result<(), Corrupt> {
    if texts.len() > MAX_POSITIONS {
        return Err(Corrupt("more positions than the mask can hold"));
    }
    let mask = texts
        .iter()
        .enumerate()
        .filter(|(_, text)| text.is_some())
        .fold(0u64, |mask, (i, _)| mask | 1 << i);
    encode_varint(mask, out);
    for text in texts.iter().flatten() {
        encode_varint(text.len() as u64, out);
        out.extend_from_slice(text.as_bytes());
    }
    Ok(())
}

/// The texts of [`write`] by column position, up to the last one that has
/// a text.
pub fn read(mut bytes: &[u8]) -> Result<Vec<Option<String>>, Corrupt> {
    let mask = decode_varint(&mut bytes).map_err(|_| Corrupt("no mask"))?;
    let width = (u64::BITS - mask.leading_zeros()) as usize;
    let mut texts = Vec::with_capacity(width);
    for i in 0..width {
        if mask & 1 << i == 0 {
            texts.push(None);
            continue;
        }
        let len = decode_varint(&mut bytes).map_err(|_| Corrupt("no length"))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= bytes.len())
            .ok_or(Corrupt("a text longer than the value"))?;
        let (text, rest) = bytes.split_at(len);
        let text = std::str::from_utf8(text).map_err(|_| Corrupt("a text that is not UTF-8"))?;
        texts.push(Some(text.to_string()));
        bytes = rest;
    }
    if !bytes.is_empty() {
        return Err(Corrupt("bytes after the last text"));
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(texts: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        write(texts, &mut out).expect("few positions");
        out
    }

    #[test]
    fn texts_read_back_by_position_with_gaps_empty_texts_and_any_characters() {
        let texts = [
            Some("007"),
            None,
            Some(""),
            None,
            Some("Peña, \"Jr\"\n\u{1f}ø"),
            Some(&"x".repeat(300)[..]),
        ];
        let read = read(&packed(&texts)).expect("what write wrote");
        let expected: Vec<Option<String>> = texts.iter().map(|t| t.map(str::to_string)).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn trailing_absent_positions_and_no_texts_at_all_read_back_short() {
        assert_eq!(
            read(&packed(&[Some("a"), None, None])).unwrap(),
            vec![Some("a".into())]
        );
        assert_eq!(read(&packed(&[])).unwrap(), Vec::<Option<String>>::new());
        assert_eq!(
            read(&packed(&[None, None])).unwrap(),
            Vec::<Option<String>>::new()
        );
    }

    #[test]
    fn a_damaged_value_is_an_error_not_a_panic_or_a_lost_cell() {
        let good = packed(&[Some("abc"), Some("de")]);
        for cut in 0..good.len() {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = good.clone();
        extra.push(b'x');
        assert!(read(&extra).is_err());
        let not_utf8 = [0b1, 1, 0xff];
        assert!(read(&not_utf8).is_err());
    }
}
