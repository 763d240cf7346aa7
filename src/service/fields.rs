//! How request fields tell "absent" from `null` (serde helpers for the request types of every
//! door): a field is either absent-or-a-value ([`present`]: `null` is refused, never read as
//! absent) or absent-null-or-a-value ([`nullable`]: `null` means "clear", as `assignee_id: null`
//! releases a conversation to the pool).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<T>`: absent is `None`, a
/// value is `Some`, and `null` is an error ("null is not allowed here; leave the field out"), so a
/// client that sends `{"name": null}` learns that it changed nothing instead of getting a 200.
///
/// # Errors
/// The deserializer's error for `null` or for a value that is not a `T`.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(D::Error::custom(
            "null is not allowed here; leave the field out to keep its value",
        )),
    }
}

/// For `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>`: absent is
/// `None`, `null` is `Some(None)` (clear it), a value is `Some(Some(v))`.
///
/// # Errors
/// The deserializer's error for a value that is not a `T`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "present")]
        name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        capacity: Option<Option<i64>>,
        #[serde(default, deserialize_with = "present")]
        config: Option<serde_json::Value>,
    }

    fn parse(s: &str) -> Result<Body, String> {
        serde_json::from_str::<Body>(s).map_err(|e| e.to_string())
    }

    #[test]
    fn absent_null_and_values() {
        let b = parse("{}").expect("empty");
        assert_eq!((b.name, b.capacity, b.config), (None, None, None));
        let b = parse(r#"{"name":"x","capacity":null,"config":{}}"#).expect("values");
        assert_eq!(b.name.as_deref(), Some("x"));
        assert_eq!(b.capacity, Some(None));
        assert_eq!(b.config, Some(serde_json::json!({})));
        assert_eq!(
            parse(r#"{"capacity":3}"#).expect("3").capacity,
            Some(Some(3))
        );
        for refused in [r#"{"name":null}"#, r#"{"config":null}"#, r#"{"name":5}"#] {
            let e = parse(refused).expect_err(refused);
            assert!(
                refused.contains('5') || e.contains("null is not allowed"),
                "{refused}: {e}"
            );
        }
    }
}
