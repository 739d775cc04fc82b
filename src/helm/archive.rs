//! What a chart archive (`.tgz`) holds, for telling whether two archives carry the same chart:
//! its files by path, with nested chart archives (`charts/<lib>-<version>.tgz`) expanded, so
//! that the times `helm package` stamps into every archive do not count.

use std::collections::BTreeMap;
use std::io::Read as _;

/// Path -> content of every file in a gzip-compressed tar; a nested `.tgz` is listed as
/// `<path>!/<inner path>`.
pub(crate) fn contents(gz: &[u8]) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if path.ends_with(".tgz") {
            for (inner, b) in contents(&bytes)? {
                out.insert(format!("{path}!/{inner}"), b);
            }
        } else {
            out.insert(path, bytes);
        }
    }
    Ok(out)
}

/// The files that differ between two archives' contents (present in one only, or changed).
pub(crate) fn differences(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut out: Vec<String> =
        a.iter().filter(|(p, bytes)| b.get(*p) != Some(bytes)).map(|(p, _)| p.clone()).collect();
    out.extend(b.keys().filter(|p| !a.contains_key(*p)).cloned());
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(files: &[(&str, &[u8])], mtime: u64) -> Vec<u8> {
        let mut builder =
            tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_cksum();
            builder.append_data(&mut header, path, *bytes).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn the_same_files_packed_at_other_times_are_the_same_chart() {
        let lib = tgz(&[("panda-lib/Chart.yaml", b"name: panda-lib\n")], 1);
        let lib_later = tgz(&[("panda-lib/Chart.yaml", b"name: panda-lib\n")], 2);
        let a =
            tgz(&[("msgsvc/Chart.yaml", b"name: msgsvc\n"), ("msgsvc/charts/panda-lib-0.2.0.tgz", &lib)], 1);
        let b = tgz(
            &[("msgsvc/Chart.yaml", b"name: msgsvc\n"), ("msgsvc/charts/panda-lib-0.2.0.tgz", &lib_later)],
            2,
        );
        assert_ne!(a, b, "the archives differ in their times");
        assert!(differences(&contents(&a).unwrap(), &contents(&b).unwrap()).is_empty());

        let lib_changed = tgz(&[("panda-lib/Chart.yaml", b"name: panda-lib\n# changed\n")], 1);
        let c = tgz(
            &[
                ("msgsvc/Chart.yaml", b"name: msgsvc\n"),
                ("msgsvc/charts/panda-lib-0.2.0.tgz", &lib_changed),
                ("msgsvc/templates/new.yaml", b"x"),
            ],
            1,
        );
        assert_eq!(
            differences(&contents(&a).unwrap(), &contents(&c).unwrap()),
            vec!["msgsvc/charts/panda-lib-0.2.0.tgz!/panda-lib/Chart.yaml", "msgsvc/templates/new.yaml"]
        );
    }
}
