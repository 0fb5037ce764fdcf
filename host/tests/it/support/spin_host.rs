//! A small stand-in for Spin, for tests: wasmtime with `wasmtime-wasi-http`
//! serves the Spin app's component on loopback. It links what the app
//! imports: WASI, wasi-http (outbound requests really go out), Spin's
//! variables from a map, and the converter interface, satisfied by the
//! guest component instantiated beside the app in the same store, as
//! Spin does for a component dependency. The guest gets no capabilities.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use wasmtime::component::{Component, Func, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

mod variables {
    wasmtime::component::bindgen!({
        inline: "
            package fermyon:spin@2.0.0;
            interface variables {
                variant error { invalid-name(string), undefined(string), provider(string), other(string) }
                get: func(name: string) -> result<string, error>;
            }
            world host { import variables; }
        ",
    });
}
use variables::fermyon::spin::variables as spin_variables;

const CONVERTER: &str = "serratus:summary/converter@0.3.0";
const CONVERTER_FUNCTIONS: [&str; 2] = ["convert", "merge"];

struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    variables: Arc<HashMap<String, String>>,
    /// The guest's exports (`convert`, `merge`), in this store.
    converter: HashMap<&'static str, Func>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

impl spin_variables::Host for State {
    fn get(&mut self, name: String) -> Result<String, spin_variables::Error> {
        self.variables
            .get(&name)
            .cloned()
            .ok_or(spin_variables::Error::Undefined(name))
    }
}

struct App {
    app: ProxyPre<State>,
    guest: wasmtime::component::InstancePre<State>,
    variables: Arc<HashMap<String, String>>,
    /// Where every request's stderr goes.
    log: MemoryOutputPipe,
}

/// The app served on a loopback port until the test process ends.
pub struct SpinHost {
    pub address: SocketAddr,
    /// What the app wrote to stderr, for failing tests to show.
    log: MemoryOutputPipe,
}

impl SpinHost {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn start(app: &Path, guest: &Path, variables: HashMap<String, String>) -> SpinHost {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).unwrap();
        let app_component = Component::from_file(&engine, app)
            .unwrap_or_else(|e| panic!("loading the Spin app {}: {e:#}", app.display()));
        let guest_component = Component::from_file(&engine, guest)
            .unwrap_or_else(|e| panic!("loading the guest {}: {e:#}", guest.display()));

        // The guest sees WASI only (it needs its imports satisfied), with
        // an empty context: no files, environment, network or stdio.
        let mut guest_linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut guest_linker).unwrap();
        let guest = guest_linker.instantiate_pre(&guest_component).unwrap();

        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
        spin_variables::add_to_linker::<State, wasmtime::component::HasSelf<State>>(
            &mut linker,
            |state| state,
        )
        .unwrap();
        // The dependency: the app's imports call the guest's exports.
        let mut converter = linker.instance(CONVERTER).unwrap();
        for name in CONVERTER_FUNCTIONS {
            converter
                .func_new_async(name, move |mut store, _type, params, results| {
                    Box::new(async move {
                        let func = store.data().converter[name];
                        func.call_async(&mut store, params, results).await?;
                        Ok(())
                    })
                })
                .unwrap();
        }
        let app = ProxyPre::new(linker.instantiate_pre(&app_component).unwrap())
            .unwrap_or_else(|e| panic!("the Spin app is not an HTTP component: {e:#}"));
        let log = MemoryOutputPipe::new(16 << 20);
        let served = Arc::new(App {
            app,
            guest,
            variables: Arc::new(variables),
            log: log.clone(),
        });

        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (client, _) = listener.accept().await.unwrap();
                    let served = served.clone();
                    tokio::task::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let served = served.clone();
                            async move { served.handle(request).await }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(client), service)
                            .await;
                    });
                }
            });
        });
        let address = ready_rx.recv().unwrap();
        SpinHost { address, log }
    }

    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.contents()).into_owned()
    }
}

impl App {
    /// One request, in a fresh store, as Spin runs each request.
    async fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
        let mut store = Store::new(
            self.app.engine(),
            State {
                wasi: WasiCtx::builder().stderr(self.log.clone()).build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                variables: self.variables.clone(),
                converter: HashMap::new(),
            },
        );
        let guest = self.guest.instantiate_async(&mut store).await?;
        let interface = guest
            .get_export_index(&mut store, None, CONVERTER)
            .expect("the guest exports the converter");
        for name in CONVERTER_FUNCTIONS {
            let index = guest
                .get_export_index(&mut store, Some(&interface), name)
                .unwrap_or_else(|| panic!("the converter exports {name}"));
            let func = guest.get_func(&mut store, index).expect("a function");
            store.data_mut().converter.insert(name, func);
        }

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let app = self.app.clone();
        let task = tokio::task::spawn(async move {
            let proxy = app.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, out)
                .await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(error.into()),
            Err(_) => {
                let error = match task.await {
                    Ok(Ok(())) => wasmtime::format_err!("the app never set a response"),
                    Ok(Err(error)) => error,
                    Err(error) => error.into(),
                };
                Err(error.context("the app set no response"))
            }
        }
    }
}
