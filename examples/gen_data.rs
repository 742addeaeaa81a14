//! Writes a synthetic BI export for benchmarks and trials.
//!
//! `cargo run --release --example gen_data -- OUT.csv|OUT.xlsx ROWS [long|semi-wide|wide] [en|de]`

#[path = "../benches/support/gen.rs"]
mod generator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen_data OUT.csv|OUT.xlsx ROWS [long|semi-wide|wide] [en|de]";
    let (Some(out), Some(rows)) = (
        args.first(),
        args.get(1).and_then(|r| r.parse::<u64>().ok()),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let layout = match args.get(2) {
        Some(l) => generator::Layout::parse(l).unwrap_or_else(|| {
            eprintln!("{usage}");
            std::process::exit(2)
        }),
        None => generator::Layout::SemiWide,
    };
    let locale = match args.get(3).map(String::as_str) {
        Some("de") => generator::Locale::De,
        _ => generator::Locale::En,
    };
    let path = std::path::Path::new(out);
    let result = if out.ends_with(".xlsx") {
        generator::write_xlsx(path, rows, layout).map_err(|e| e.to_string())
    } else {
        generator::write_csv(path, rows, layout, locale).map_err(|e| e.to_string())
    };
    if let Err(e) = result {
        eprintln!("{out}: {e}");
        std::process::exit(1);
    }
    eprintln!("wrote {out}: {rows} rows, {layout:?}, {locale:?}");
}
