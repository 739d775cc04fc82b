//! What the generated Applications say about the secrets release: Argo CD never manages it (it
//! holds the passwords). It is deployed by hand with `panda-install secrets deploy`, ideally from a
//! sops-encrypted file committed next to the Applications, which panda-install decrypts in memory.

use crate::settings::instance::Instance;
use crate::shell;

/// The secrets values file as the Applications name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretsSource {
    /// Repository-relative when it lies in the repository, else as given.
    pub(crate) shown: String,
    pub(crate) encrypted: bool,
}

/// The full instructions, for the parent (or, without one, every child).
pub(crate) fn instructions(
    instance: &Instance,
    namespace: &str,
    file: Option<&SecretsSource>,
    site_repo: Option<&str>,
) -> Vec<String> {
    let release = instance.secrets_release();
    let shown = file.map_or("FILE".to_string(), |f| shell::quote(&f.shown));
    let command = format!(
        "panda-install secrets deploy -f {shown} -a {} -n {}",
        shell::quote(instance.affix.as_str()),
        shell::quote(namespace)
    );
    let mut lines = vec![
        format!("The secrets release {release} is not an Argo CD Application: it holds the passwords, so it"),
        "stays outside Argo CD. Deploy it by hand before the first sync, and again after each change:".into(),
        format!("  {command}"),
    ];
    if let Some(url) = site_repo {
        lines.extend([
            format!("Run it in a checkout of the site repository {url}: it reads the site's experiments and"),
            "its secrets/files/ (certificates, CRIC and IAM files) from there (docs/site.md).".into(),
        ]);
    }
    lines.extend(match file {
        Some(f) if f.encrypted => vec![
            format!(
                "{} is sops-encrypted and may be committed: panda-install decrypts it in memory",
                f.shown
            ),
            "(sops finds the key: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt, gpg) and"
                .into(),
            "gives it to helm on stdin; no Application reads it. See docs/gitops.md.".into(),
        ],
        _ => vec![
            "Keep FILE sops-encrypted (`panda-install secrets init --encrypt --age RECIPIENT`) if it is"
                .into(),
            "committed, else outside every repository Argo CD reads. See docs/gitops.md.".into(),
        ],
    });
    lines
}

/// The one line each child carries when the parent has the instructions.
pub(crate) fn pointer(instance: &Instance, parent_file: &str) -> Vec<String> {
    vec![format!(
        "Reads the Secrets of {}, deployed outside Argo CD: see {parent_file}.",
        instance.secrets_release()
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_file_is_named_in_the_deploy_command() {
        let i = Instance::from_flag("dev-eddie-").unwrap();
        let f = SecretsSource { shown: "personal/eddie/secrets.enc.yaml".into(), encrypted: true };
        let text = instructions(&i, "dev-eddie", Some(&f), None).join("\n");
        assert!(
            text.contains(
                "  panda-install secrets deploy -f personal/eddie/secrets.enc.yaml -a dev-eddie- -n dev-eddie"
            ),
            "{text}"
        );
        assert!(
            text.contains("dev-eddie-secrets is not an Argo CD Application")
                && text.contains("decrypts it in memory")
        );
        let text = instructions(&Instance::from_flag("").unwrap(), "panda", None, Some("https://x/site.git"))
            .join("\n");
        assert!(
            text.contains("secrets deploy -f FILE -a '' -n panda")
                && text.contains("--encrypt")
                && text.contains("checkout of the site repository https://x/site.git"),
            "{text}"
        );
        assert_eq!(
            pointer(&i, "x.yaml"),
            vec!["Reads the Secrets of dev-eddie-secrets, deployed outside Argo CD: see x.yaml."]
        );
    }
}
