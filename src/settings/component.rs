//! The closed set of PanDA components panda-install deploys, and their names on the command line.

use std::fmt;
use std::str::FromStr;

/// A deployable PanDA component: one Helm chart under `helm/<name>` and one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Component {
    Msgsvc,
    Iam,
    Panda,
    Harvester,
    Idds,
    Bigmon,
    Ui,
}

impl Component {
    /// Every component, in the order bin/install listed them (also the tie-break order within a tier).
    pub(crate) const ALL: [Component; 7] = [
        Component::Msgsvc,
        Component::Iam,
        Component::Panda,
        Component::Harvester,
        Component::Idds,
        Component::Bigmon,
        Component::Ui,
    ];

    /// The name used on the command line, for the chart directory and in release names.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Component::Msgsvc => "msgsvc",
            Component::Iam => "iam",
            Component::Panda => "panda",
            Component::Harvester => "harvester",
            Component::Idds => "idds",
            Component::Bigmon => "bigmon",
            Component::Ui => "ui",
        }
    }

    /// The names of all components, for error messages and completions.
    pub(crate) fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|c| c.name()).collect()
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Component {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.name() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Component::ALL {
            assert_eq!(c.name().parse::<Component>(), Ok(c));
        }
        assert!("uis".parse::<Component>().is_err());
        assert!("Panda".parse::<Component>().is_err());
    }
}
