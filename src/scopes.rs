//! OAuth scopes (RFC 6749 3.3), parsed once from their space-separated form: order kept,
//! empty values and repeats dropped.

use std::fmt;

/// A set of scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses `text`: values separated by spaces (any run of whitespace tolerated).
    pub fn parse(text: &str) -> Scopes {
        text.split_whitespace().map(str::to_string).collect()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// True when every scope here is also in `other`.
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl FromIterator<String> for Scopes {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Scopes {
        let mut scopes: Vec<String> = Vec::new();
        for s in iter {
            if !s.is_empty() && !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        Scopes(scopes)
    }
}

/// The space-separated form.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once_keeping_order_without_repeats() {
        let s = Scopes::parse(" openid  email openid profile ");
        assert_eq!(s.as_slice(), ["openid", "email", "profile"]);
        assert_eq!(s.to_string(), "openid email profile");
        assert!(s.contains("email") && !s.contains("mail"));
        assert!(Scopes::parse("email").is_subset_of(&s));
        assert!(!Scopes::parse("email roles").is_subset_of(&s));
        assert!(Scopes::parse("  ").is_empty());
    }
}
