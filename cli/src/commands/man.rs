//! `hpk man`: man pages generated from the command definitions.

use crate::exit::{CliError, CliResult};
use crate::ui::Ui;
use std::path::Path;

/// Writes `hpk.1` and `hpk-SUB.1` for every subcommand into `out`.
pub fn write_man_pages(cmd: clap::Command, out: &Path, ui: Ui) -> CliResult {
    std::fs::create_dir_all(out).map_err(|e| CliError::io(out, &e))?;
    let cmd = cmd.name("hpk");
    write_page(&cmd, "hpk", out)?;
    let mut count = 1;
    for sub in cmd.get_subcommands() {
        let name = format!("hpk-{}", sub.get_name());
        write_page(sub, &name, out)?;
        count += 1;
        for nested in sub.get_subcommands() {
            write_page(nested, &format!("{name}-{}", nested.get_name()), out)?;
            count += 1;
        }
    }
    ui.note(format!("wrote {count} man pages to {}", out.display()));
    Ok(())
}

fn write_page(cmd: &clap::Command, name: &str, out: &Path) -> CliResult {
    let path = out.join(format!("{name}.1"));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_owned()))
        .render(&mut buf)
        .map_err(|e| CliError::io(&path, &e))?;
    hpk_sign::write_atomically(&path, &buf).map_err(|e| CliError::io(&path, &e))
}
