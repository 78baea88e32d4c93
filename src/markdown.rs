//! Assistant answers as Markdown, rendered to HTML that cannot run anything: raw HTML in the
//! text is shown as text, links and images become plain links (http, https, mailto or
//! relative only) that open in a new tab with `rel="noopener noreferrer"`, and fenced code
//! blocks get a language label and a Copy button. Used on the server (first render) and in the
//! browser (while the answer streams), so both produce the same markup.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

pub fn to_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML is text: push_html escapes it.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { dest_url, title, .. })
        | Event::Start(Tag::Image { dest_url, title, .. }) => Event::Html(CowStr::from(format!(
            r#"<a href="{}"{} target="_blank" rel="noopener noreferrer">"#,
            escape(safe_url(&dest_url)),
            if title.is_empty() {
                String::new()
            } else {
                format!(r#" title="{}""#, escape(&title))
            }
        ))),
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => Event::Html("</a>".into()),
        Event::Start(Tag::CodeBlock(kind)) => {
            let lang = match &kind {
                CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or(""),
                CodeBlockKind::Indented => "",
            };
            let lang = escape(lang);
            Event::Html(CowStr::from(format!(
                r#"<div class="code-block"><div class="code-head"><span class="code-lang">{lang}</span><button type="button" class="copy-code">{}</button></div><pre><code data-lang="{lang}">"#,
                crate::i18n::t().copy
            )))
        }
        Event::End(TagEnd::CodeBlock) => Event::Html("</code></pre></div>".into()),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The URL if its scheme is safe to follow, otherwise `#`.
fn safe_url(url: &str) -> &str {
    let compact: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = compact.find(':');
    let path_start = compact.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, path_start) {
        (Some(colon), Some(path)) => colon < path,
        (Some(_), None) => true,
        _ => false,
    };
    let allowed = ["http:", "https:", "mailto:"];
    if !has_scheme || allowed.iter().any(|s| compact.starts_with(s)) {
        url
    } else {
        "#"
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn markdown_renders_headings_lists_tables_and_code() {
        let html = to_html(
            "# Título\n\n- uno\n- **dos**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() { println!(\"<hola>\"); }\n```\n\nUsa `x < y`.",
        );
        assert!(html.contains("<h1>Título</h1>"));
        assert!(html.contains("<li><strong>dos</strong></li>"));
        assert!(html.contains("<table>"));
        assert!(html.contains(r#"<span class="code-lang">rust</span>"#));
        assert!(html.contains("class=\"copy-code\""));
        assert!(html.contains("println!(\"&lt;hola&gt;\");"), "{html}");
        assert!(html.contains("<code>x &lt; y</code>"));
    }

    #[test]
    fn raw_html_is_text_and_dangerous_links_go_nowhere() {
        let html = to_html(
            "<img src=x onerror=alert(1)> <script>alert(2)</script>\n\n[clic](javascript:alert(3)) [ok](https://energyapp.example) ![x](JaVaScRiPt:alert(4)) [d](data:text/html,hi) <a href=\"javascript:alert(5)\">a</a>",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        // The only real tags are the safe links (the raw <a> is shown as text).
        assert!(
            !html.to_lowercase().contains("<a href=\"javascript"),
            "{html}"
        );
        assert!(!html.contains("<a href=\"data:"), "{html}");
        assert!(html.contains(r#"<a href="https://energyapp.example" target="_blank" rel="noopener noreferrer">ok</a>"#));
        assert_eq!(html.matches("<a ").count(), 4, "{html}");
    }

    #[test]
    fn relative_links_and_mailto_are_kept() {
        let html = to_html("[a](/c/1) [b](mailto:x@y.es) [c](#top)");
        assert!(html.contains(r#"href="/c/1""#));
        assert!(html.contains(r#"href="mailto:x@y.es""#));
        assert!(html.contains(r##"href="#top""##));
    }
}
