//! Orders components into dependency tiers: a topological sort by longest path from the roots.

use super::component::Component;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Groups `enabled` into tiers such that every component comes after all it depends on, directly
/// or through components that are not enabled. Within a tier, components keep `Component::ALL` order.
pub(crate) fn tiers(
    edges: &BTreeMap<Component, Vec<Component>>,
    enabled: &[Component],
) -> Result<Vec<Vec<Component>>> {
    let depth = depths(edges)?;
    let mut by_depth: BTreeMap<usize, Vec<Component>> = BTreeMap::new();
    for c in Component::ALL.into_iter().filter(|c| enabled.contains(c)) {
        by_depth.entry(depth[&c]).or_default().push(c);
    }
    Ok(by_depth.into_values().collect())
}

/// Depth of each component: 0 for those that depend on nothing, else 1 + the deepest dependency.
/// Kahn's algorithm; what remains unsorted lies on a cycle, which the error spells out.
fn depths(edges: &BTreeMap<Component, Vec<Component>>) -> Result<BTreeMap<Component, usize>> {
    let mut depth = BTreeMap::new();
    let mut remaining: Vec<Component> = Component::ALL.to_vec();
    while !remaining.is_empty() {
        let ready: Vec<Component> = remaining
            .iter()
            .copied()
            .filter(|c| edges.get(c).is_none_or(|deps| deps.iter().all(|d| depth.contains_key(d))))
            .collect();
        if ready.is_empty() {
            return Err(Error::Graph(format!(
                "dependency cycle among components: {}",
                describe_cycle(edges, &remaining)
            )));
        }
        for c in ready {
            let d = edges.get(&c).map_or(0, |deps| deps.iter().map(|d| depth[d] + 1).max().unwrap_or(0));
            depth.insert(c, d);
            remaining.retain(|r| *r != c);
        }
    }
    Ok(depth)
}

/// Follows unresolved edges from the first stuck component until one repeats: "a -> b -> a".
fn describe_cycle(edges: &BTreeMap<Component, Vec<Component>>, stuck: &[Component]) -> String {
    let mut path = vec![stuck[0]];
    loop {
        let last = *path.last().unwrap();
        let next = edges[&last]
            .iter()
            .copied()
            .find(|d| stuck.contains(d))
            .expect("a stuck component has a stuck dependency");
        if let Some(start) = path.iter().position(|c| *c == next) {
            let mut cycle: Vec<String> = path[start..].iter().map(|c| c.to_string()).collect();
            cycle.push(next.to_string());
            return cycle.join(" -> ");
        }
        path.push(next);
    }
}

/// The graph the shipped charts declare (seed: ActiveMQ, IAM -> PanDA -> Harvester, iDDS, BigMon),
/// for tests of the modules that order by it.
#[cfg(test)]
pub(crate) fn seed_edges() -> BTreeMap<Component, Vec<Component>> {
    use Component::*;
    BTreeMap::from([
        (Msgsvc, vec![]),
        (Iam, vec![]),
        (Panda, vec![Msgsvc, Iam]),
        (Harvester, vec![Panda]),
        (Idds, vec![Panda]),
        (Bigmon, vec![Panda]),
        (Ui, vec![Panda, Iam]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use Component::*;

    fn permutations(items: &[Component]) -> Vec<Vec<Component>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut out = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let head = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, head);
                out.push(tail);
            }
        }
        out
    }

    #[test]
    fn full_stack_has_three_tiers() {
        let t = tiers(&seed_edges(), &Component::ALL).unwrap();
        assert_eq!(t, vec![vec![Msgsvc, Iam], vec![Panda], vec![Harvester, Idds, Bigmon, Ui]]);
    }

    #[test]
    fn every_subset_in_every_order_respects_dependencies() {
        let edges = seed_edges();
        for mask in 1u32..(1 << Component::ALL.len()) {
            let subset: Vec<Component> = Component::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, c)| c)
                .collect();
            let expected = tiers(&edges, &subset).unwrap();
            for order in permutations(&subset) {
                let got = tiers(&edges, &order).unwrap();
                assert_eq!(got, expected, "order {order:?} changed the tiers");
            }
            let flat: Vec<Component> = expected.iter().flatten().copied().collect();
            assert_eq!(flat.len(), subset.len());
            let tier_of = |c: Component| expected.iter().position(|t| t.contains(&c)).unwrap();
            for &c in &subset {
                for &d in &subset {
                    if depends_transitively(&edges, c, d) {
                        assert!(tier_of(d) < tier_of(c), "{d} must precede {c} in {expected:?}");
                    }
                }
            }
        }
    }

    fn depends_transitively(edges: &BTreeMap<Component, Vec<Component>>, c: Component, d: Component) -> bool {
        edges[&c].iter().any(|&x| x == d || depends_transitively(edges, x, d))
    }

    #[test]
    fn dependencies_through_disabled_components_still_order() {
        let t = tiers(&seed_edges(), &[Harvester, Msgsvc]).unwrap();
        assert_eq!(t, vec![vec![Msgsvc], vec![Harvester]]);
    }

    #[test]
    fn a_cycle_is_named() {
        let mut edges = seed_edges();
        edges.insert(Msgsvc, vec![Bigmon]);
        let err = tiers(&edges, &Component::ALL).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
        assert!(err.contains("msgsvc") && err.contains("bigmon") && err.contains("panda"), "{err}");
    }
}
