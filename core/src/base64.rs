//! Base64 (RFC 4648), the one copy in the workspace: URL-safe without
//! padding for decision tokens (every character is allowed in an HTTP
//! header and in a W3C `baggage` value), and the standard alphabet with
//! padding for DynamoDB's binary values, which the CLI writes.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            let index = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(char::from(alphabet.get(index).copied().unwrap_or(b'A')));
        }
        if pad {
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
    }
    out
}

/// URL-safe base64 without padding.
pub fn encode_url_safe(bytes: &[u8]) -> String {
    encode(bytes, URL_SAFE, false)
}

/// Standard base64 with padding.
pub fn encode_standard(bytes: &[u8]) -> String {
    encode(bytes, STANDARD, true)
}

/// URL-safe base64 without padding, read strictly: `None` for any other
/// character, a length no encoding has, or bits past the last byte that
/// are not zero, so that every byte string has exactly one text.
pub fn decode_url_safe(text: &str) -> Option<Vec<u8>> {
    decode(text.as_bytes(), URL_SAFE)
}

/// Standard base64 with its padding, as DynamoDB answers binary values,
/// read as strictly as [`decode_url_safe`] reads its own.
pub fn decode_standard(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let unpadded = text.strip_suffix("==").or_else(|| text.strip_suffix('='));
    decode(unpadded.unwrap_or(text).as_bytes(), STANDARD)
}

fn decode(text: &[u8], alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let value = |c: u8| alphabet.iter().position(|a| *a == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        if bytes < 3 && n & (0x00FF_FFFF >> (8 * bytes)) != 0 {
            return None;
        }
        for i in 0..bytes {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_safe_round_trips_and_reads_one_text_per_value() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode_url_safe(&encode_url_safe(&bytes)).unwrap(), bytes);
        }
        assert_eq!(encode_url_safe(b"\xfb\xff"), "-_8");
        assert_eq!(decode_url_safe("-_8").unwrap(), b"\xfb\xff");
        assert!(decode_url_safe("a").is_none() && decode_url_safe("a+b=").is_none());
        assert!(decode_url_safe("-_9").is_none());
    }

    #[test]
    fn standard_round_trips_with_its_padding() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 53 + 7) as u8).collect();
            assert_eq!(decode_standard(&encode_standard(&bytes)).unwrap(), bytes);
        }
        assert_eq!(decode_standard("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_standard("+/8=").unwrap(), b"\xfb\xff");
        assert!(decode_standard("Zm9").is_none() && decode_standard("Zm-_").is_none());
        assert!(decode_standard("Zg=a").is_none());
    }

    #[test]
    fn standard_pads_as_the_rfc_says() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_standard(plain.as_bytes()), encoded);
        }
        assert_eq!(encode_standard(&[0xfb, 0xff]), "+/8=");
    }
}
