fn main() -> std::process::ExitCode {
    mcp_oauth_conform::app::main()
}
