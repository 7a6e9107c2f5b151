//! `corral-standin`: the stand-in API server as a process, optionally
//! with a simulated cluster and its recorders' publishing windows
//! (`bench/operator.sh` runs it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_standin::simulate::{templates, Scale, Simulation};
use corral_standin::{Config, StandIn};
use serde_json::json;

const USAGE: &str =
    "usage: corral-standin [--listen 127.0.0.1:PORT] [--kubeconfig FILE] [--ready-file FILE]
                      [--history N] [--bookmark-seconds S]
                      [--simulate [--nodes N] [--pods N] [--namespaces N] [--replicas N]
                       [--recorded FRACTION] [--changed FRACTION] [--containers N]
                       [--window-seconds S] [--every S] [--recordings DIR]]

Serves the Kubernetes API in memory until killed. With --simulate, a cluster
(default 5,000 nodes, 150,000 pods, 2,000 namespaces, a tenth of them
labelled corral.dev/record=true) and its first publishing window (every
recorded container's Recording on every node); POST /standin/window publishes
the next one (or every S seconds with --every), in which a --changed fraction
of the recorded workload containers (default 0.1) gain a run; POST
/standin/converged says whether each changed one's merged Recording has it.
GET /standin/stats: requests by verb and resource (the publishers' writes
apart, as internal).";

struct Args {
    listen: String,
    kubeconfig: Option<PathBuf>,
    ready: Option<PathBuf>,
    config: Config,
    simulate: bool,
    scale: Scale,
    every: Option<u64>,
    recordings: PathBuf,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:0".into(),
        kubeconfig: None,
        ready: None,
        config: Config::default(),
        simulate: false,
        scale: Scale::default(),
        every: None,
        recordings: PathBuf::from("examples/advise-demo/recordings"),
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        if word == "--help" || word == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if word == "--simulate" {
            args.simulate = true;
            continue;
        }
        let value = words
            .next()
            .ok_or_else(|| format!("{word} needs a value\n{USAGE}"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{word} {v:?}: not a whole number"))
        };
        let fraction = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|f| (0.0..=1.0).contains(f))
                .ok_or_else(|| format!("{word} {v:?}: not a fraction from 0 to 1"))
        };
        match word.as_str() {
            "--listen" => args.listen = value,
            "--kubeconfig" => args.kubeconfig = Some(value.into()),
            "--ready-file" => args.ready = Some(value.into()),
            "--history" => args.config.history = number(&value)? as usize,
            "--bookmark-seconds" => {
                args.config.bookmark_interval = Duration::from_secs(number(&value)?.max(1))
            }
            "--nodes" => args.scale.nodes = number(&value)? as usize,
            "--pods" => args.scale.pods = number(&value)? as usize,
            "--namespaces" => args.scale.namespaces = number(&value)? as usize,
            "--replicas" => args.scale.replicas = number(&value)? as usize,
            "--containers" => args.scale.containers = number(&value)? as usize,
            "--recorded" => args.scale.recorded = fraction(&value)?,
            "--changed" => args.scale.changed = fraction(&value)?,
            "--window-seconds" => args.scale.window_seconds = number(&value)?.max(1),
            "--every" => args.every = Some(number(&value)?.max(1)),
            "--recordings" => args.recordings = value.into(),
            _ => return Err(format!("unknown argument {word}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse()?;
    let server = StandIn::bind(args.config.clone(), &args.listen)?;
    if args.simulate {
        let templates = templates(&args.recordings)?;
        let began = std::time::Instant::now();
        let simulation = Simulation::populate(&server, args.scale.clone(), templates)?;
        eprintln!(
            "corral-standin: simulated {} nodes, {} pods, {} namespaces, {} recorded workload containers in {:.1} s",
            server.count("nodes"),
            server.count("pods"),
            server.count("namespaces"),
            simulation.recorded(),
            began.elapsed().as_secs_f64()
        );
        let simulation = Arc::new(Mutex::new(simulation));
        let windows = simulation.clone();
        server.hook(
            "window",
            Arc::new(move |handle, _| {
                windows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .next_window(handle)
            }),
        );
        let converged = simulation.clone();
        server.hook(
            "converged",
            Arc::new(move |handle, _| {
                Ok(converged
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .converged(handle))
            }),
        );
        if let Some(every) = args.every {
            let handle = server.handle();
            let windows = simulation.clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_secs(every));
                let summary = windows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .next_window(&handle);
                match summary {
                    Ok(summary) => eprintln!("corral-standin: {summary}"),
                    Err(e) => eprintln!("corral-standin: {e}"),
                }
            });
        }
    }
    if let Some(path) = &args.kubeconfig {
        std::fs::write(path, corral_standin::kubeconfig_text(&server.url()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let ready = json!({"url": server.url()}).to_string();
    if let Some(path) = &args.ready {
        std::fs::write(path, &ready).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{ready}");
    loop {
        std::thread::park();
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corral-standin: {e}");
            ExitCode::from(2)
        }
    }
}
