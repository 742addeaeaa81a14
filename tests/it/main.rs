//! Integration tests: the real binary, the real emulator, real HTTP on loopback.

mod harness;

mod input;

mod checked;
mod cli_reference;
mod demo;
mod docs_commands;
mod dry_run;
mod emulator;
mod export;
mod faults;
mod fidelity;
mod first_use;
mod hostile;
mod hostile_corpus;
mod inspect;
mod kpis;
mod messages;
mod report_html;
mod report_schema;
mod samples;
mod secrets;
mod template;
mod truth;
mod upload;
mod watch;
