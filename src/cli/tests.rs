//! How the command line parses what operators and scripts type.

use clap::Parser;

use super::{Cli, ClientCommand, Command};

/// The client id and `--json` of a parsed `porta client …` command.
fn parsed(args: &[&str]) -> Result<(String, bool), String> {
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    let Command::Client(command) = cli.command else {
        return Err(format!("not a client command: {:?}", cli.command));
    };
    Ok(match command {
        ClientCommand::Show { client_id, out }
        | ClientCommand::RotateSecret { client_id, out, .. }
        | ClientCommand::Disable { client_id, out }
        | ClientCommand::Enable { client_id, out }
        | ClientCommand::Delete { client_id, out } => (client_id, out.json),
        ClientCommand::Update(update) => (update.client_id, update.out.json),
        other => return Err(format!("no client id: {other:?}")),
    })
}

#[test]
fn client_ids_that_begin_with_a_hyphen_are_taken_as_ids() {
    // Ids are 22 base64url characters; ones issued before they were drawn without a
    // leading `-` may begin with one, or two, or with a short flag's letter.
    for id in [
        "-fAbC0_9xYz-AbC0_9xYzQ",
        "--AbC0_9xYz-AbC0_9xYzQ",
        "-hAbC0_9xYz-AbC0_9xYzQ",
        "-VAbC0_9xYz-AbC0_9xYzQ",
        "--jsonC0_9xYz-AbC0_9xY",
    ] {
        for command in [
            "show",
            "rotate-secret",
            "disable",
            "enable",
            "delete",
            "update",
        ] {
            assert_eq!(
                parsed(&["porta", "client", command, id, "--json"]),
                Ok((id.to_string(), true)),
                "porta client {command} {id} --json"
            );
        }
    }
    assert_eq!(
        parsed(&[
            "porta",
            "client",
            "update",
            "-xAbC0_9xYz-AbC0_9xYzQ",
            "--name",
            "Shop"
        ]),
        Ok(("-xAbC0_9xYz-AbC0_9xYzQ".to_string(), false))
    );
}
