//! "Did you mean ...?" hints for misspelled names, by edit distance.

/// Levenshtein distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub(crate) fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (distance(typed, c), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `unknown <what> "x"; did you mean "y"? (known: a, b, c)`
pub(crate) fn unknown(what: &str, typed: &str, known: &[&str]) -> String {
    let hint = match closest(typed, known.iter().copied()) {
        Some(best) => format!("; did you mean {best:?}?"),
        None => String::new(),
    };
    format!("unknown {what} {typed:?}{hint} (known: {})", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(distance("panda", "pnada"), 2);
        assert_eq!(closest("pnada", ["panda", "idds"]), Some("panda"));
        assert_eq!(closest("harvestr", ["harvester", "bigmon"]), Some("harvester"));
        assert_eq!(closest("kubernetes", ["panda", "idds"]), None);
        let msg = unknown("component", "biigmon", &["bigmon", "panda"]);
        assert!(msg.contains("did you mean \"bigmon\"") && msg.contains("known: bigmon, panda"), "{msg}");
    }
}
