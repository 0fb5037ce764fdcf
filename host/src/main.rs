fn main() { let _e = wasmtime::Engine::default(); let _ = wasmtime_wasi::WasiCtx::builder(); }
