//! Parse tables for the command line, and the rule that a command refuses every flag it does not
//! declare (generated from the clap definition itself, not from a hand-kept list).

use super::*;
use clap::CommandFactory;
use std::collections::BTreeSet;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::parse_checked(std::iter::once("panda-install").chain(args.iter().copied()))
}

#[test]
fn the_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn valid_command_lines() {
    for line in [
        "-c panda -e lsst",
        "-t -e doma",
        "--dry-run -c panda,msgsvc -n panda",
        "install -a prod- -d iam,panda.jedi --timeout 20m",
        "plan -e lsst --output json",
        "status -n panda --output json",
        "status -a blah- -c panda",
        "diff -e lsst -n panda --secrets s.yaml",
        "doctor -e doma -c panda,idds -d panda.jedi --values panda=x.yaml -n panda --output json",
        "doctor -a prod- --secrets s.yaml --kube-context c --kubeconfig k --helm h --root r",
        "uninstall --dry-run -n panda -a blah- -c bigmon",
        "uninstall --delete-data --with-secrets --no-wait",
        "recover --dry-run -n panda",
        "secrets init --out x.yaml --force",
        "secrets deploy -f x.yaml --dry-run -n panda --create-namespace",
        "secrets deploy -f x.enc.yaml --sops /opt/sops",
        "secrets deploy -f x.yaml --adopt -n panda",
        "secrets init --encrypt --age age1a,age1b --out s.enc.yaml",
        "secrets init --encrypt",
        "secrets edit s.enc.yaml --sops sops",
        "secrets rotate s.enc.yaml --only msgsvc.basePassword,bigmon.secretKey --dry-run --output json",
        "--secrets s.enc.yaml --sops /opt/sops -c panda",
        "argocd --dev eddie --secrets s.enc.yaml --sops /s --repo-url u --target-revision main",
        "argocd -e doma -n panda --repo-url u --target-revision main",
        "package --push oci://r/c --plain-http --dry-run",
        "completions bash",
        "man",
        "import up --out dir -e cern,lsst --installed-by argocd --force",
        "import up --out dir --upstream-affix -x",
        "install --adopt -e doma -n panda",
        "migrate-data dump harvester-mariadb --host old-mariadb -n panda --dry-run",
        "migrate-data restore idds-postgres -a test- --claim c --database idds_db --timeout 20m",
        "-v status",
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        if let Err(e) = parse(&args) {
            panic!("{line:?} should parse: {e}");
        }
    }
}

#[test]
fn invalid_command_lines() {
    use clap::error::ErrorKind::*;
    for (line, kind) in [
        ("-t --dry-run", ArgumentConflict),
        ("-t --no-wait", ArgumentConflict),
        ("-t --output json", ArgumentConflict),
        ("-c panda status", ArgumentConflict),
        ("--dry-run status", ArgumentConflict),
        ("status --template", UnknownArgument),
        ("status --secrets s.yaml", UnknownArgument),
        ("doctor --create-namespace", UnknownArgument),
        ("doctor --timeout 1m", UnknownArgument),
        ("-c panda doctor", ArgumentConflict),
        ("argocd --no-wait", UnknownArgument),
        ("argocd --dev x -n y", ArgumentConflict),
        ("secrets init --dry-run", UnknownArgument),
        ("secrets init --age age1a", MissingRequiredArgument),
        ("secrets edit", MissingRequiredArgument),
        ("status --sops /s", UnknownArgument),
        ("man -a x-", UnknownArgument),
        ("package --force", MissingRequiredArgument),
        ("import up", MissingRequiredArgument),
        ("import up --out d --secrets s.yaml", UnknownArgument),
        ("--adopt --dry-run", ArgumentConflict),
        ("-t --adopt", ArgumentConflict),
        ("plan --adopt", UnknownArgument),
        ("migrate-data copy harvester-mariadb", InvalidValue),
        ("migrate-data dump harvester-mariadb --enable harvester", UnknownArgument),
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        match parse(&args) {
            Ok(_) => panic!("{line:?} must be refused"),
            Err(e) => assert_eq!(e.kind(), kind, "{line:?}: {e}"),
        }
    }
}

/// Every long flag any command declares, with whether it takes a value.
fn all_flags(cmd: &clap::Command, out: &mut BTreeSet<(String, bool)>) {
    for arg in cmd.get_arguments() {
        if let Some(long) = arg.get_long() {
            out.insert((long.to_string(), arg.get_action().takes_values()));
        }
    }
    for sub in cmd.get_subcommands() {
        all_flags(sub, out);
    }
}

/// The arguments a command needs to parse at all (its required positionals and flags).
fn required_args(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    for arg in cmd.get_arguments().filter(|a| a.is_required_set()) {
        if let Some(long) = arg.get_long() {
            out.push(format!("--{long}"));
        }
        let value = arg.get_possible_values().first().map(|v| v.get_name().to_string());
        out.push(value.unwrap_or_else(|| "x".into()));
    }
    out
}

/// Leaf commands with their path of names (`["secrets", "init"]`), the bare form as `[]`.
fn leaves(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
    if cmd.get_subcommands().next().is_none() || path.is_empty() {
        out.push((path.clone(), cmd.clone()));
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut p = path.clone();
        p.push(sub.get_name().to_string());
        leaves(sub, p, out);
    }
}

#[test]
fn every_command_refuses_the_flags_it_does_not_declare() {
    let mut root = Cli::command();
    root.build(); // propagates the global flags (-v) to every command, as parsing does
    let mut flags = BTreeSet::new();
    all_flags(&root, &mut flags);
    let mut commands = Vec::new();
    leaves(&root, Vec::new(), &mut commands);
    let mut refused = 0;
    for (path, cmd) in commands.iter().filter(|(p, c)| p.is_empty() || c.get_subcommands().next().is_none()) {
        let declared: BTreeSet<String> =
            cmd.get_arguments().filter_map(|a| a.get_long().map(String::from)).collect();
        for (flag, takes_value) in
            flags.iter().filter(|(f, _)| !declared.contains(f) && f != "help" && f != "version")
        {
            let mut args: Vec<String> = path.clone();
            args.extend(required_args(cmd));
            args.push(format!("--{flag}"));
            if *takes_value {
                args.push("x".into());
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let err = match parse(&refs) {
                Ok(_) => {
                    panic!("`panda-install {}` accepted --{flag}, which it does not declare", path.join(" "))
                }
                Err(e) => e,
            };
            assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument, "{refs:?}: {err}");
            assert_eq!(crate::app::usage_exit_code(&err), crate::exit_code::USAGE);
            refused += 1;
        }
    }
    assert!(refused > 100, "only {refused} refusals checked: the generator found too few flags");
}

#[test]
fn mutating_commands_have_a_dry_run_and_reporting_commands_json() {
    let root = Cli::command();
    let find = |path: &[&str]| {
        let mut cmd = root.clone();
        for p in path {
            cmd = cmd.find_subcommand(p).unwrap_or_else(|| panic!("no command {path:?}")).clone();
        }
        cmd.get_arguments().filter_map(|a| a.get_long().map(String::from)).collect::<BTreeSet<_>>()
    };
    for mutating in [&["install"][..], &["uninstall"], &["recover"], &["secrets", "deploy"], &["package"]] {
        assert!(find(mutating).contains("dry-run"), "{mutating:?} has no --dry-run");
    }
    for reporting in [
        &["install"][..],
        &["plan"],
        &["status"],
        &["diff"],
        &["uninstall"],
        &["recover"],
        &["secrets", "deploy"],
    ] {
        assert!(find(reporting).contains("output"), "{reporting:?} has no --output");
    }
    assert!(find(&["install"]).contains("template") && !find(&["plan"]).contains("template"));
}
