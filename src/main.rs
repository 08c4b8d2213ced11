use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = yingji::cli::Cli::parse();
    match yingji::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
