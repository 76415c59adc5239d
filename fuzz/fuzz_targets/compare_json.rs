#![no_main]
// The body lives in the library (src/fuzzing.rs), so that tests/fuzz_replay.rs replays the same.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_oauth_conform::fuzzing::compare_json(data));
