//! Message text as Markdown: bold, italic, strikethrough, inline code, code
//! blocks, block quotes, lists, headings and links. pulldown-cmark (a
//! CommonMark parser) reads the text; this module keeps only those elements
//! and draws them as Leptos elements and text nodes, so nothing a sender
//! types ever reaches the page as markup: HTML in a message is text, a link
//! is a link only to `http:`, `https:` or `mailto:`, an image is a link to
//! its address (no picture loads from a sender's server), and nesting is
//! cut at `MAX_DEPTH` (deeper containers keep their text, not their frame),
//! so a hostile message cannot make the renderer recurse without end.
//!
//! Chat rules, not a document's: a single line break is a line break, a
//! bare `http(s)://` address becomes a link (`text::linkify`), and the
//! `@Name` of each person the message mentions (and `@room`) is marked,
//! strongest for the reader's own name, outside code and links.

use leptos::prelude::*;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::components::copy_button::CopyButton;
use crate::components::text::{linkify, Segment};
use crate::realtime::protocol::name_calls;

/// Containers inside containers beyond this depth keep only their contents.
pub const MAX_DEPTH: usize = 8;

/// A piece of a rendered message: blocks and inlines in one tree, since a
/// tight list item holds inline text directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Paragraph(Vec<Node>),
    Heading(Vec<Node>),
    CodeBlock {
        language: Option<String>,
        code: String,
    },
    Quote(Vec<Node>),
    List {
        start: Option<u64>,
        items: Vec<Node>,
    },
    Item(Vec<Node>),
    Rule,
    Text(String),
    Code(String),
    Strong(Vec<Node>),
    Emphasis(Vec<Node>),
    Strike(Vec<Node>),
    Link {
        href: String,
        children: Vec<Node>,
    },
    /// `@Name` of someone the message mentions; `me`: the reader.
    Mention {
        text: String,
        me: bool,
    },
    LineBreak,
}

/// A name the message calls (without its `@`), and whether it is the
/// reader's.
pub type Called = (String, bool);

/// Marks each `@Name` in `nodes` that `called` lists, outside code and
/// links (whose text stays as typed).
pub fn mark_mentions(nodes: Vec<Node>, called: &[Called]) -> Vec<Node> {
    if called.is_empty() {
        return nodes;
    }
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let inside = |children: Vec<Node>| mark_mentions(children, called);
        match node {
            Node::Text(text) => out.extend(split_mentions(&text, called)),
            Node::Paragraph(c) => out.push(Node::Paragraph(inside(c))),
            Node::Heading(c) => out.push(Node::Heading(inside(c))),
            Node::Quote(c) => out.push(Node::Quote(inside(c))),
            Node::Item(c) => out.push(Node::Item(inside(c))),
            Node::Strong(c) => out.push(Node::Strong(inside(c))),
            Node::Emphasis(c) => out.push(Node::Emphasis(inside(c))),
            Node::Strike(c) => out.push(Node::Strike(inside(c))),
            Node::List { start, items } => out.push(Node::List {
                start,
                items: inside(items),
            }),
            other => out.push(other),
        }
    }
    out
}

/// `text` as text and mentions; of overlapping calls ("@Ann" and
/// "@Ann Lee") the longer wins.
fn split_mentions(text: &str, called: &[Called]) -> Vec<Node> {
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    for (name, me) in called {
        spans.extend(name_calls(text, name).map(|(start, end)| (start, end, *me)));
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end, me) in spans {
        if start < at {
            continue; // inside a longer one already marked
        }
        if start > at {
            out.push(Node::Text(text[at..start].to_string()));
        }
        out.push(Node::Mention {
            text: text[start..end].to_string(),
            me,
        });
        at = end;
    }
    if at < text.len() {
        out.push(Node::Text(text[at..].to_string()));
    }
    out
}

/// What a container becomes when its end tag comes.
enum Frame {
    Paragraph,
    Heading,
    CodeBlock(Option<String>),
    Quote,
    List(Option<u64>),
    Item,
    Strong,
    Emphasis,
    Strike,
    Link(String),
    /// Too deep, or not drawn (a link to a refused scheme, a table, a
    /// footnote): its contents go to the container around it.
    Transparent,
}

/// The tree being built: the finished top level, and the containers still
/// open above it (each with the children gathered so far).
#[derive(Default)]
struct Tree {
    root: Vec<Node>,
    open: Vec<(Frame, Vec<Node>)>,
}

impl Tree {
    /// Where the next node goes: the innermost open container, else the top.
    fn top(&mut self) -> &mut Vec<Node> {
        match self.open.last_mut() {
            Some((_, children)) => children,
            None => &mut self.root,
        }
    }
}

pub fn parse(body: &str) -> Vec<Node> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut tree = Tree::default();
    let mut drawn_depth = 0usize;
    let mut in_link = 0usize;
    for event in Parser::new_ext(body, options) {
        match event {
            Event::Start(tag) => {
                let frame = if drawn_depth >= MAX_DEPTH {
                    Frame::Transparent
                } else {
                    frame_for(tag)
                };
                if !matches!(frame, Frame::Transparent) {
                    drawn_depth += 1;
                }
                if matches!(frame, Frame::Link(_)) {
                    in_link += 1;
                }
                tree.open.push((frame, Vec::new()));
            }
            Event::End(end) => {
                // A stray end (none in practice) closes nothing.
                let Some((frame, children)) = tree.open.pop() else {
                    continue;
                };
                let ends_block = matches!(
                    end,
                    TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::HtmlBlock
                );
                let node = match frame {
                    Frame::Paragraph => Node::Paragraph(children),
                    Frame::Heading => Node::Heading(children),
                    Frame::CodeBlock(language) => Node::CodeBlock {
                        language,
                        code: plain_text(&children),
                    },
                    Frame::Quote => Node::Quote(children),
                    Frame::List(start) => Node::List {
                        start,
                        items: children,
                    },
                    Frame::Item => Node::Item(children),
                    Frame::Strong => Node::Strong(children),
                    Frame::Emphasis => Node::Emphasis(children),
                    Frame::Strike => Node::Strike(children),
                    Frame::Link(href) => {
                        in_link = in_link.saturating_sub(1);
                        Node::Link { href, children }
                    }
                    Frame::Transparent => {
                        let parent = tree.top();
                        parent.extend(children);
                        // Blocks flattened into one container stay apart.
                        if ends_block {
                            parent.push(Node::LineBreak);
                        }
                        continue;
                    }
                };
                drawn_depth = drawn_depth.saturating_sub(1);
                tree.top().push(node);
            }
            Event::Text(text) => {
                let verbatim =
                    in_link > 0 || matches!(tree.open.last(), Some((Frame::CodeBlock(_), _)));
                if verbatim {
                    push_text(tree.top(), &text);
                } else {
                    push_linked(tree.top(), &text);
                }
            }
            Event::Code(code) => tree.top().push(Node::Code(code.to_string())),
            // Markup typed in a message is shown as typed.
            Event::Html(html) | Event::InlineHtml(html) => push_text(tree.top(), &html),
            Event::InlineMath(math) | Event::DisplayMath(math) => push_text(tree.top(), &math),
            Event::SoftBreak | Event::HardBreak => tree.top().push(Node::LineBreak),
            Event::Rule => tree.top().push(Node::Rule),
            Event::FootnoteReference(name) => push_text(tree.top(), &format!("[^{name}]")),
            Event::TaskListMarker(done) => {
                push_text(tree.top(), if done { "[x] " } else { "[ ] " })
            }
        }
    }
    // Unclosed containers (none in practice) hand their contents down.
    while let Some((_, children)) = tree.open.pop() {
        tree.top().extend(children);
    }
    let mut root = tree.root;
    while matches!(root.last(), Some(Node::LineBreak)) {
        root.pop();
    }
    root
}

fn frame_for(tag: Tag) -> Frame {
    match tag {
        Tag::Paragraph | Tag::HtmlBlock => Frame::Paragraph,
        Tag::Heading { .. } => Frame::Heading,
        Tag::BlockQuote(_) => Frame::Quote,
        Tag::CodeBlock(CodeBlockKind::Fenced(info)) => Frame::CodeBlock(
            info.split_whitespace()
                .next()
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        ),
        Tag::CodeBlock(CodeBlockKind::Indented) => Frame::CodeBlock(None),
        Tag::List(start) => Frame::List(start),
        Tag::Item => Frame::Item,
        Tag::Emphasis => Frame::Emphasis,
        Tag::Strong => Frame::Strong,
        Tag::Strikethrough => Frame::Strike,
        Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => match safe_href(&dest_url) {
            Some(href) => Frame::Link(href),
            None => Frame::Transparent,
        },
        _ => Frame::Transparent,
    }
}

/// The link target if its scheme is one a chat may open: `http:`, `https:`
/// or `mailto:` (in any case, after the spaces and control characters a
/// browser would skip). Relative and every other scheme are refused.
pub fn safe_href(url: &str) -> Option<String> {
    let url = url.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if url.chars().any(|c| c.is_control()) {
        return None;
    }
    let (scheme, rest) = url.split_once(':')?;
    let allowed = ["http", "https", "mailto"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s));
    (allowed && !rest.is_empty()).then(|| url.to_string())
}

fn push_text(children: &mut Vec<Node>, text: &str) {
    if let Some(Node::Text(last)) = children.last_mut() {
        last.push_str(text);
    } else {
        children.push(Node::Text(text.to_string()));
    }
}

/// `text` with its bare `http(s)://` addresses as links.
fn push_linked(children: &mut Vec<Node>, text: &str) {
    for segment in linkify(text) {
        match segment {
            Segment::Text(text) => push_text(children, &text),
            Segment::Link(url) => children.push(Node::Link {
                children: vec![Node::Text(url.clone())],
                href: url,
            }),
        }
    }
}

fn plain_text(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(text) | Node::Code(text) => out.push_str(text),
            Node::LineBreak => out.push('\n'),
            _ => {}
        }
    }
    out
}

/// A message body drawn from its Markdown. Most chat lines have nothing
/// Markdown would change; they are drawn at once without the parser. In
/// the browser the parser (pulldown-cmark, about 150 KB of WASM) is split
/// off and fetched the first time a message needs it; until it is there,
/// such a message shows as plain text.
pub fn render(body: &str, called: &[Called]) -> AnyView {
    if !has_markup(body) {
        return plain(body, called);
    }
    #[cfg(not(feature = "hydrate"))]
    {
        draw_all(mark_mentions(parse(body), called))
    }
    #[cfg(feature = "hydrate")]
    {
        let parsed = RwSignal::new(None::<Vec<Node>>);
        let text = body.to_string();
        leptos::task::spawn_local(async move {
            let nodes = parse_in_its_own_file(text).await;
            // The message may have left the screen meanwhile.
            parsed.try_set(Some(nodes));
        });
        let body = body.to_string();
        let called = called.to_vec();
        (move || match parsed.get() {
            Some(nodes) => draw_all(mark_mentions(nodes, &called)),
            None => plain(&body, &called),
        })
        .into_any()
    }
}

#[cfg(feature = "hydrate")]
#[leptos::lazy]
fn parse_in_its_own_file(body: String) -> Vec<Node> {
    parse(&body)
}

/// Whether Markdown could draw `body` differently from its plain text: a
/// character CommonMark gives a meaning to, or a line that starts like a
/// list, a heading underline, a rule or indented code.
pub fn has_markup(body: &str) -> bool {
    if body.contains(['*', '_', '~', '`', '>', '#', '[', ']', '<', '&', '\\', '|']) {
        return true;
    }
    body.split('\n').any(|line| {
        if line.starts_with("    ") || line.starts_with('\t') {
            return true;
        }
        let line = line.trim_start();
        if line.starts_with(['-', '+', '=']) {
            return true;
        }
        let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        digits > 0 && line[digits..].starts_with(['.', ')'])
    }) || body.trim() != body
        || body.contains("\n\n")
}

/// Text with its bare links and line breaks, as Markdown draws a body that
/// has no markup.
fn plain(body: &str, called: &[Called]) -> AnyView {
    draw_all(mark_mentions(plain_nodes(body), called))
}

fn plain_nodes(body: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            nodes.push(Node::LineBreak);
        }
        push_linked(&mut nodes, line);
    }
    nodes
}

fn draw_all(nodes: Vec<Node>) -> AnyView {
    nodes.into_iter().map(draw).collect_view().into_any()
}

fn draw(node: Node) -> AnyView {
    match node {
        Node::Paragraph(children) => view! { <p class="md-p">{draw_all(children)}</p> }.into_any(),
        Node::Heading(children) => {
            view! { <p class="md-p font-semibold">{draw_all(children)}</p> }.into_any()
        }
        Node::CodeBlock { language, code } => {
            let copy = code.trim_end_matches('\n').to_string();
            view! {
                <div class="md-code relative my-1">
                    <pre class="overflow-x-auto rounded-lg bg-slate-950/70 p-3 pr-16 font-mono text-xs leading-relaxed text-slate-100" data-language=language><code>{copy.clone()}</code></pre>
                    <div class="absolute right-1 top-1"><CopyButton text=copy label="Copy"/></div>
                </div>
            }
            .into_any()
        }
        Node::Quote(children) => view! {
            <blockquote class="my-1 border-l-2 border-slate-400/60 pl-3 text-slate-200">{draw_all(children)}</blockquote>
        }
        .into_any(),
        Node::List {
            start: Some(start),
            items,
        } => view! {
            <ol class="my-1 list-decimal pl-6" start=start.to_string()>{draw_all(items)}</ol>
        }
        .into_any(),
        Node::List { start: None, items } => {
            view! { <ul class="my-1 list-disc pl-6">{draw_all(items)}</ul> }.into_any()
        }
        Node::Item(children) => view! { <li>{draw_all(children)}</li> }.into_any(),
        Node::Rule => view! { <hr class="my-2 border-white/20"/> }.into_any(),
        Node::Text(text) => text.into_any(),
        Node::Code(code) => view! {
            <code class="rounded bg-slate-950/60 px-1 py-0.5 font-mono text-[0.85em]">{code}</code>
        }
        .into_any(),
        Node::Strong(children) => view! { <strong>{draw_all(children)}</strong> }.into_any(),
        Node::Emphasis(children) => view! { <em>{draw_all(children)}</em> }.into_any(),
        Node::Strike(children) => view! { <del>{draw_all(children)}</del> }.into_any(),
        Node::Link { href, children } => view! {
            <a href=href target="_blank" rel="noopener noreferrer nofollow ugc"
                class="text-sky-300 underline hover:text-sky-200">{draw_all(children)}</a>
        }
        .into_any(),
        Node::Mention { text, me: true } => view! {
            <span class="mention mention-me rounded bg-amber-300/25 px-0.5 font-semibold text-amber-100">{text}</span>
        }
        .into_any(),
        Node::Mention { text, me: false } => {
            view! { <span class="mention font-semibold text-sky-200">{text}</span> }.into_any()
        }
        Node::LineBreak => view! { <br/> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Node {
        Node::Text(t.into())
    }

    #[test]
    fn the_everyday_elements() {
        assert_eq!(
            parse("**bold** *it* ~~gone~~ `x < y`"),
            vec![Node::Paragraph(vec![
                Node::Strong(vec![text("bold")]),
                text(" "),
                Node::Emphasis(vec![text("it")]),
                text(" "),
                Node::Strike(vec![text("gone")]),
                text(" "),
                Node::Code("x < y".into()),
            ])]
        );
        assert_eq!(
            parse("```rust\nfn main() {}\n```"),
            vec![Node::CodeBlock {
                language: Some("rust".into()),
                code: "fn main() {}\n".into()
            }]
        );
        assert_eq!(
            parse("> quoted\n\n- one\n- two"),
            vec![
                Node::Quote(vec![Node::Paragraph(vec![text("quoted")])]),
                Node::List {
                    start: None,
                    items: vec![Node::Item(vec![text("one")]), Node::Item(vec![text("two")])]
                }
            ]
        );
        // A chat's line break is a line break.
        assert_eq!(
            parse("one\ntwo"),
            vec![Node::Paragraph(vec![
                text("one"),
                Node::LineBreak,
                text("two")
            ])]
        );
    }

    #[test]
    fn links_only_to_web_and_mail_addresses() {
        assert_eq!(
            parse("[site](https://example.com) and https://bare.example/x."),
            vec![Node::Paragraph(vec![
                Node::Link {
                    href: "https://example.com".into(),
                    children: vec![text("site")]
                },
                text(" and "),
                Node::Link {
                    href: "https://bare.example/x".into(),
                    children: vec![text("https://bare.example/x")]
                },
                text("."),
            ])]
        );
        assert_eq!(
            parse("[mail](MAILTO:ada@example.com)"),
            vec![Node::Paragraph(vec![Node::Link {
                href: "MAILTO:ada@example.com".into(),
                children: vec![text("mail")]
            }])]
        );
        for hostile in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "[x](/relative)",
            "[x](//evil.example)",
            "<javascript:alert(1)>",
            "![x](javascript:alert(1))",
        ] {
            let nodes = parse(hostile);
            assert!(!has_link(&nodes), "{hostile}: {nodes:?}");
        }
        // An image is a link to its address, never a picture.
        assert_eq!(
            parse("![cat](https://example.com/cat.png)"),
            vec![Node::Paragraph(vec![Node::Link {
                href: "https://example.com/cat.png".into(),
                children: vec![text("cat")]
            }])]
        );
    }

    /// A body without markup is drawn without the parser: the same text,
    /// links and line breaks the parser would give.
    #[test]
    fn bodies_without_markup_need_no_parser() {
        for body in [
            "hello world",
            "see https://example.com/a?b=c, then reply.",
            "one\ntwo\nthree",
            "3 apples and 4 pears",
            "email ada@example.com or call 555 1234",
            "Ça va? Très bien! 你好",
        ] {
            assert!(!has_markup(body), "{body}");
            let parsed = parse(body);
            let [Node::Paragraph(inlines)] = parsed.as_slice() else {
                panic!("{body}: {parsed:?}");
            };
            let plain = plain_nodes(body);
            assert_eq!(inlines, &plain, "{body}");
        }
        for body in [
            "**b**",
            "- item",
            "1. first",
            "2) second",
            "title\n===",
            "    code",
            "a\n\nb",
            " padded",
            "x_y_",
            "<b>",
            "&amp;",
            "[l](https://x.io)",
        ] {
            assert!(has_markup(body), "{body}");
        }
    }

    #[test]
    fn html_is_text() {
        assert_eq!(
            parse("<img src=x onerror=alert(1)>"),
            vec![Node::Paragraph(vec![text("<img src=x onerror=alert(1)>")])]
        );
        assert_eq!(
            parse("a <b>bold</b>"),
            vec![Node::Paragraph(vec![text("a <b>bold</b>")])]
        );
    }

    #[test]
    fn nesting_is_cut_and_loses_no_text() {
        let deep = format!("{}deep", "> ".repeat(10_000));
        let nodes = parse(&deep);
        assert!(depth(&nodes) <= MAX_DEPTH, "{}", depth(&nodes));
        assert!(plain(&nodes).contains("deep"));
        let stars = format!("{}x{}", "*".repeat(5_000), "*".repeat(5_000));
        assert!(depth(&parse(&stars)) <= MAX_DEPTH);
        let lists = format!("{}item", "- ".repeat(5_000));
        let nodes = parse(&lists);
        assert!(depth(&nodes) <= MAX_DEPTH);
        assert!(plain(&nodes).contains("item"));
    }

    #[test]
    fn mentions_are_marked_outside_code_and_links() {
        let called = vec![("Ann".to_string(), false), ("Ann Lee".to_string(), true)];
        let nodes = mark_mentions(
            parse("**@ann lee** and @Ann, not `@Ann` or [@Ann](https://x.y) or @Annie"),
            &called,
        );
        let Node::Paragraph(inline) = &nodes[0] else {
            panic!("{nodes:?}")
        };
        let mention = |text: &str, me: bool| Node::Mention {
            text: text.into(),
            me,
        };
        assert_eq!(inline[0], Node::Strong(vec![mention("@ann lee", true)]));
        assert_eq!(inline[1], text(" and "));
        assert_eq!(inline[2], mention("@Ann", false));
        assert_eq!(inline[3], text(", not "));
        assert_eq!(inline[4], Node::Code("@Ann".into()));
        assert!(
            matches!(&inline[6], Node::Link { children, .. } if children == &vec![text("@Ann")])
        );
        assert_eq!(inline[7], text(" or @Annie"));
        assert_eq!(mark_mentions(vec![text("@Ann")], &[]), vec![text("@Ann")]);
    }

    fn children(node: &Node) -> &[Node] {
        match node {
            Node::Paragraph(c)
            | Node::Heading(c)
            | Node::Quote(c)
            | Node::Item(c)
            | Node::Strong(c)
            | Node::Emphasis(c)
            | Node::Strike(c)
            | Node::Link { children: c, .. }
            | Node::List { items: c, .. } => c,
            _ => &[],
        }
    }

    fn depth(nodes: &[Node]) -> usize {
        nodes
            .iter()
            .map(|n| match n {
                Node::Text(_) | Node::Code(_) | Node::LineBreak | Node::Rule => 0,
                Node::CodeBlock { .. } => 1,
                n => 1 + depth(children(n)),
            })
            .max()
            .unwrap_or(0)
    }

    fn plain(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| match n {
                Node::Text(t) | Node::Code(t) => t.clone(),
                Node::CodeBlock { code, .. } => code.clone(),
                n => plain(children(n)),
            })
            .collect()
    }

    fn has_link(nodes: &[Node]) -> bool {
        nodes
            .iter()
            .any(|n| matches!(n, Node::Link { .. }) || has_link(children(n)))
    }
}
