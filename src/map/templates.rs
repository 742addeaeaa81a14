//! The commented mapping templates, one per layout, built into the binary
//! (`vsimport mapping init --layout LAYOUT` prints one; the files live in `templates/`).

/// A mapping layout, as `--layout` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Layout {
    Long,
    SemiWide,
    Wide,
}

/// The template for `layout`, every option explained.
pub(crate) fn template(layout: Layout) -> &'static str {
    match layout {
        Layout::Long => include_str!("../../templates/long.toml"),
        Layout::SemiWide => include_str!("../../templates/semi-wide.toml"),
        Layout::Wide => include_str!("../../templates/wide.toml"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_a_mapping() {
        for l in [Layout::Long, Layout::SemiWide, Layout::Wide] {
            if let Err(e) = crate::map::Mapping::parse("template.toml", template(l)) {
                panic!("{l:?}: {e:?}");
            }
        }
    }
}
