use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match glasschat::server::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("glasschat: {err}");
            ExitCode::FAILURE
        }
    }
}
