//! Request parameters as OAuth reads them: URL-encoded pairs where a repeated parameter
//! is an error (RFC 6749 3.1) and an empty value counts as absent.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// Parsed parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, String>);

/// A parameter that is repeated or a body that is not URL-encoded.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("a parameter is repeated")]
    Repeated(String),
    #[error("the request body is not application/x-www-form-urlencoded")]
    Malformed,
    /// No parameter of Porta's may hold a NUL byte (PostgreSQL text cannot store one), so
    /// it is refused here, before anything reaches the database.
    #[error("a parameter contains a NUL byte")]
    Nul,
}

/// The URL-encoded pairs of `input`; a NUL byte in a name or value is refused.
fn pairs(input: &[u8]) -> Result<Vec<(String, String)>, ParamsError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(input).map_err(|_| ParamsError::Malformed)?;
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(ParamsError::Nul);
    }
    Ok(pairs)
}

impl Params {
    /// Parses a query string or form body.
    pub fn parse(input: &[u8]) -> Result<Params, ParamsError> {
        let pairs = pairs(input)?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            if map.contains_key(&k) {
                return Err(ParamsError::Repeated(k));
            }
            map.insert(k, v);
        }
        Ok(Params(map))
    }

    /// Parses like `parse` but keeps the first value of a repeated parameter and reports
    /// the repeated names, so the caller can decide where the error goes.
    pub fn parse_lenient(input: &[u8]) -> Result<(Params, Vec<String>), ParamsError> {
        let pairs = pairs(input)?;
        let mut map = HashMap::with_capacity(pairs.len());
        let mut repeated = Vec::new();
        for (k, v) in pairs {
            match map.entry(k) {
                Entry::Occupied(e) => repeated.push(e.key().clone()),
                Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        Ok((Params(map), repeated))
    }

    /// The value of `name`, or `None` when missing or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Removes and returns `name` (empty counts as absent).
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_absent() {
        assert!(matches!(
            Params::parse(b"a=1&a=2"),
            Err(ParamsError::Repeated(_))
        ));
        let p = Params::parse(b"a=&b=x%20y").unwrap();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("x y"));
    }

    #[test]
    fn nul_bytes_are_refused_in_names_and_values() {
        assert!(matches!(Params::parse(b"a=x%00y"), Err(ParamsError::Nul)));
        assert!(matches!(Params::parse(b"a%00=x"), Err(ParamsError::Nul)));
        assert!(matches!(
            Params::parse_lenient(b"request=%00"),
            Err(ParamsError::Nul)
        ));
        assert!(Params::parse(b"a=x%01y").is_ok());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::Params;

    proptest! {
        #[test]
        fn any_bytes_parse_or_are_refused_never_a_panic(input in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(p) = Params::parse(&input) {
                // Nothing with a NUL ever gets through.
                for (k, v) in p.0.iter() {
                    prop_assert!(!k.contains('\0') && !v.contains('\0'));
                }
            }
        }

        #[test]
        fn what_a_form_encoder_writes_comes_back_unchanged(
            pairs in prop::collection::btree_map("[^\u{0}]{1,20}", "[^\u{0}]{0,40}", 0..8)
        ) {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .finish();
            let parsed = Params::parse(encoded.as_bytes()).unwrap();
            for (k, v) in &pairs {
                // An empty value counts as absent (RFC 6749 3.1).
                prop_assert_eq!(parsed.get(k), (!v.is_empty()).then_some(v.as_str()));
            }
        }
    }
}
