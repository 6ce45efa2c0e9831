//! `fake-gateway [--mode normal|hang|html|malformed-sse|overcharge] [--key KEY] [--multiplier-bp N]
//! [--port P]`: serves on 127.0.0.1, prints its base URL on the first line of stdout, and runs
//! until killed. The mode can be changed at run time with `POST /__fake/mode` (body: the mode).

use fake_gateway::{Config, FakeGateway, Mode};

fn main() {
    let mut config = Config::default();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--mode" => {
                let v = value();
                config.mode = Mode::parse(&v).unwrap_or_else(|| usage(&format!("unknown mode {v}")));
            }
            "--key" => config.key = value(),
            "--multiplier-bp" => {
                config.multiplier_bp = value().parse().unwrap_or_else(|_| usage("bad --multiplier-bp"))
            }
            "--port" => port = value().parse().unwrap_or_else(|_| usage("bad --port")),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let gateway = FakeGateway::start_on(config, port).unwrap_or_else(|e| {
        eprintln!("fake-gateway: cannot listen: {e}");
        std::process::exit(1)
    });
    println!("{}", gateway.url);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("fake-gateway: {problem}");
    }
    eprintln!(
        "usage: fake-gateway [--mode normal|hang|html|malformed-sse|overcharge] [--key KEY] [--multiplier-bp N] [--port P]"
    );
    std::process::exit(2)
}
