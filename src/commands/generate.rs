//! What is generated from the command line: shell completions, manual pages.

use super::*;

/// `newscrawl completions SHELL`: the script on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "newscrawl", &mut out);
    print_out(&String::from_utf8_lossy(&out))?;
    Ok(EXIT_OK)
}

/// `newscrawl man`: the page on stdout, or every page into `dir`.
pub(super) fn man_pages(dir: Option<&std::path::Path>) -> Result<u8, Error> {
    use clap::CommandFactory;
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
                .map_err(|e| {
                    Error::Io(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", dir.display()),
                    ))
                })?;
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            print_out(&String::from_utf8_lossy(&out))?;
        }
    }
    Ok(EXIT_OK)
}
