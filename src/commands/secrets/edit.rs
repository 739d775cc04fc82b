//! `panda-install secrets edit FILE`: opens a sops-encrypted secrets file in the user's editor
//! through `sops edit` (on the terminal; sops keeps the plaintext in a temporary file only its
//! owner can read, for the editing session only), then decrypts the result into memory and checks
//! it: readable, a valid affix and `cric.real`, and which FIXMEs are left.

use crate::cli::SecretsEditArgs;
use crate::commands::Context;
use crate::error::{Error, Result};
use crate::exit_code;
use crate::output;
use crate::settings::instance::Instance;
use crate::settings::secrets_file::{Read, SecretsFile};
use crate::settings::yaml;
use crate::sops::Edited;

pub(crate) async fn run(args: &SecretsEditArgs, ctx: &Context) -> Result<i32> {
    let path = match SecretsFile::read(&args.file)? {
        Read::Encrypted(path) => path,
        Read::Plain(_) => {
            return Err(Error::data(
                &args.file,
                "is not sops-encrypted: edit it with any editor, or start an encrypted one with \
                 `panda-install secrets init --encrypt --age RECIPIENT`",
            ))
        }
    };
    let sops = ctx.sops(&args.sops).await?;
    let edited = sops.edit(&path).await?;
    let file = SecretsFile::from_decrypted(&path, sops.decrypt(&path).await?)?;
    let instance = Instance::resolve(None, Some(&file))?;
    file.cric_real()?;
    output::note(&match edited {
        Edited::Saved => format!("{} saved, encrypted by sops; {}", path.display(), instance.describe()),
        Edited::Unchanged => format!("{} unchanged", path.display()),
    });
    let left = yaml::fixme_paths(file.values());
    if !left.is_empty() {
        output::note(&format!(
            "still FIXME (secrets deploy refuses the file until they are filled): {}",
            left.join(", ")
        ));
    }
    Ok(exit_code::SUCCESS)
}
