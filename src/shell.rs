//! Shell quoting, so every printed command can be pasted into a POSIX shell as it is.

/// Quotes one word for a POSIX shell; words made only of safe characters stay bare.
pub(crate) fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Joins a program and its arguments into one copy-pasteable command line.
pub(crate) fn join<S: AsRef<str>>(words: &[S]) -> String {
    words.iter().map(|w| quote(w.as_ref())).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("helm"), "helm");
        assert_eq!(quote("global.affix=test-"), "global.affix=test-");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(join(&["helm", "template", "x y"]), "helm template 'x y'");
    }
}
