//! Text to [`ast`](crate::ast): the pest parser, lowered to the syntax tree in one pass.
//!
//! `pest::iterators::Pair` never leaves this module. Syntax errors are turned into
//! [`Diagnostic`]s that say what was expected in the planner's words, and parsing recovers
//! line by line: the broken line is set aside (blanked, so every span stays true) and the
//! rest of the file is parsed again, so one run reports every syntax error and the checker
//! still sees every line that was well formed.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveTime};
use pest::Parser;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use rust_decimal::Decimal;

use crate::ast::*;
use crate::diag::{Diagnostic, Message};
use crate::suggest::closest;

#[derive(pest_derive::Parser)]
#[grammar = "camp.pest"]
struct CampParser;

/// The most syntax errors reported for one file before parsing gives up.
const MAX_SYNTAX_ERRORS: usize = 50;

/// Words that begin a campaign line.
const LINE_KEYWORDS: &[&str] = &[
    "title", "sponsor", "period", "unit", "entry", "when", "unless", "let", "table", "basis", "counter", "award",
    "rounding", "grant", "refund", "stack",
];

/// Parses a whole file. Always returns a tree (of what could be read) and every syntax error.
///
/// A file is a sequence of top-level declarations, cut where a `}` closes the outermost
/// brace. Each piece is parsed on its own (on several threads for large files), so a
/// mistake in one campaign never spills into the next, and every span stays relative to the
/// whole file.
pub fn parse(src: &str) -> (File, Vec<Diagnostic>) {
    if let Some(at) = too_deep(src) {
        return (File::default(), vec![Diagnostic::error(Message::TooDeep, Span::new(at, at + 1))]);
    }
    let pieces = top_level_pieces(src);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(pieces.len());
    let results: Vec<(File, Vec<Diagnostic>)> = if src.len() < PARALLEL_FROM || workers < 2 {
        pieces.iter().map(|&(start, end)| parse_piece(src, start, end)).collect()
    } else {
        // Contiguous runs of pieces of about equal size, one per worker, in order.
        let share = src.len().div_ceil(workers);
        let mut runs: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
        for &piece in &pieces {
            if runs.last().is_some_and(|r| r.first().is_some_and(|f| piece.0 - f.0 >= share)) {
                runs.push(Vec::new());
            }
            if let Some(run) = runs.last_mut() {
                run.push(piece);
            }
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .iter()
                .map(|run| scope.spawn(move || run.iter().map(|&(s, e)| parse_piece(src, s, e)).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        })
    };
    let mut file = File::default();
    let mut diagnostics = Vec::new();
    for (piece, mut errors) in results {
        file.decls.extend(piece.decls);
        diagnostics.append(&mut errors);
    }
    (file, diagnostics)
}

/// Files below this size are parsed on the calling thread.
const PARALLEL_FROM: usize = 64 * 1024;

thread_local! {
    /// Where the piece being lowered on this thread starts in its file.
    static PIECE_OFFSET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The byte ranges of the top-level declarations: each ends after the line of the `}` that
/// closes the outermost brace (strings and comments skipped). A file with unbalanced braces
/// is one piece from the first unclosed brace on.
fn top_level_pieces(src: &str) -> Vec<(usize, usize)> {
    let bytes = src.as_bytes();
    let (mut pieces, mut start, mut depth) = (Vec::new(), 0usize, 0usize);
    let (mut in_string, mut in_comment) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_comment {
            in_comment = b != b'\n';
        } else if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'#' => in_comment = true,
                b'/' if bytes.get(i + 1) == Some(&b'/') => in_comment = true,
                b'{' => depth += 1,
                b'}' if depth == 1 => {
                    depth = 0;
                    let end = src[i..].find('\n').map_or(src.len(), |n| i + n + 1);
                    pieces.push((start, end));
                    start = end;
                    i = end;
                    continue;
                }
                b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    if start < src.len() || pieces.is_empty() {
        pieces.push((start, src.len()));
    }
    pieces
}

/// Parses `src[start..end]`, with spans and errors relative to the whole of `src`.
fn parse_piece(src: &str, start: usize, end: usize) -> (File, Vec<Diagnostic>) {
    PIECE_OFFSET.set(start);
    let parsed = parse_text(&src[start..end]);
    PIECE_OFFSET.set(0);
    parsed
}

/// Parses one piece, recovering line by line.
fn parse_text(src: &str) -> (File, Vec<Diagnostic>) {
    let mut text = src.to_string();
    let mut diagnostics = Vec::new();
    loop {
        match CampParser::parse(Rule::file, &text) {
            Ok(mut pairs) => {
                let file = pairs.next().map(|p| lower_file(p, &mut diagnostics)).unwrap_or_default();
                return (file, diagnostics);
            }
            Err(error) => {
                let pos = error_position(&error);
                diagnostics.push(shift(syntax_error(&text, &error)));
                let blanked = diagnostics.len() < MAX_SYNTAX_ERRORS && blank_broken_item(&mut text, pos);
                if !blanked {
                    return (File::default(), diagnostics);
                }
            }
        }
    }
}

/// A syntax error's span made relative to the whole file.
fn shift(mut d: Diagnostic) -> Diagnostic {
    let offset = PIECE_OFFSET.get();
    d.span = Span::new(d.span.start + offset, d.span.end + offset);
    d
}

/// The deepest brackets and the longest operator chains a file may hold: every later stage
/// walks expressions recursively, and a bound here keeps them far from the stack's end.
pub const MAX_DEPTH: usize = 64;

/// Where brackets nest deeper than [`MAX_DEPTH`], or an expression chains more than
/// `8 × MAX_DEPTH` operators, if anywhere.
fn too_deep(src: &str) -> Option<usize> {
    let (mut depth, mut operators, mut in_string, mut in_comment) = (0usize, 0usize, false, false);
    let bytes = src.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_comment {
            in_comment = b != b'\n';
            continue;
        }
        if in_string {
            in_string = !(b == b'"' && bytes.get(i.wrapping_sub(1)) != Some(&b'\\')) && b != b'\n';
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'#' => in_comment = true,
            b'/' if bytes.get(i + 1) == Some(&b'/') => in_comment = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'<' | b'>' | b'=' => operators += 1,
            b'\n' => {
                // Operators are counted per line: a campaign line is where an expression lives.
                operators = 0;
            }
            _ => {}
        }
        if depth > MAX_DEPTH || operators > 8 * MAX_DEPTH {
            return Some(i);
        }
    }
    None
}

fn error_position(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

/// Turns pest's error into a diagnostic in the planner's words.
fn syntax_error(text: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = error_position(error);
    let positives = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let starts_value = positives.iter().filter(|r| starts_expression(**r)).count();
    let line_starts_expected = positives.iter().filter(|r| starts_line(**r)).count();
    let mut expected: Vec<String> = positives
        .iter()
        .filter(|r| starts_value < 3 || !starts_expression(**r))
        .filter(|r| line_starts_expected < 5 || !starts_line(**r))
        .filter_map(|r| describe(*r))
        .map(str::to_string)
        .collect();
    if starts_value >= 3 {
        expected.push(A_VALUE.to_string());
    }
    if line_starts_expected >= 5 {
        expected.push(A_LINE.to_string());
    }
    expected.sort();
    expected.dedup();
    let word = word_at(text, pos);
    let span = Span::new(pos, pos + word.len().max(if pos < text.len() { next_char_len(text, pos) } else { 0 }));
    let keywords: Vec<&str> = positives.iter().filter_map(|r| keyword_text(*r)).collect();
    if !word.is_empty()
        && let Some(suggestion) = closest(word, keywords.iter().copied())
    {
        return Diagnostic::error(
            Message::MisspelledKeyword { word: word.to_string(), suggestion: suggestion.to_string() },
            span,
        );
    }
    let only_a_name =
        !positives.is_empty() && positives.iter().all(|r| matches!(r, Rule::ident | Rule::path | Rule::name_ref));
    if only_a_name && is_keyword(word) {
        return Diagnostic::error(
            Message::Expected { found: Some(word.to_string()), expected: vec![RESERVED_NAME.to_string()] },
            span,
        );
    }
    let found = if pos >= text.len() {
        None
    } else if word.is_empty() {
        text[pos..].chars().next().map(|c| c.to_string())
    } else {
        Some(word.to_string())
    };
    Diagnostic::error(Message::Expected { found, expected }, span)
}

fn next_char_len(text: &str, pos: usize) -> usize {
    text[pos..].chars().next().map_or(0, char::len_utf8)
}

/// The identifier-like word starting at `pos`, if any.
fn word_at(text: &str, pos: usize) -> &str {
    let rest = &text[pos.min(text.len())..];
    let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..len]
}

/// Sets aside the item that holds the error at `pos`: its lines are replaced by spaces,
/// keeping every byte offset. Returns false when nothing sensible can be set aside.
fn blank_broken_item(text: &mut String, pos: usize) -> bool {
    let lines = line_starts(text);
    let line_of = |p: usize| lines.partition_point(|&s| s <= p).saturating_sub(1);
    let first_word = |text: &str, line: usize| -> String {
        let start = lines[line];
        let end = lines.get(line + 1).copied().unwrap_or(text.len());
        let trimmed = text[start..end].trim_start();
        word_at(trimmed, 0).to_string()
    };
    let starts_item = |w: &str| LINE_KEYWORDS.contains(&w);
    let is_boundary = |w: &str, text: &str, line: usize| {
        starts_item(w) || w == "campaign" || w == "group" || text[lines[line]..].trim_start().starts_with('}')
    };
    if pos >= text.len() {
        return false;
    }
    let error_line = line_of(pos);
    let line_start = lines[error_line];
    let at_line_start = text[line_start..pos].trim().is_empty();
    let error_word = first_word(text, error_line);
    let (first, last_exclusive);
    if at_line_start && is_boundary(&error_word, text, error_line) {
        // The line is well begun: what broke is the item above it, which ran out early.
        if error_line == 0 {
            return false;
        }
        let mut start = error_line - 1;
        while start > 0 && !is_boundary(&first_word(text, start), text, start) {
            start -= 1;
        }
        if !starts_item(&first_word(text, start)) {
            return false;
        }
        first = start;
        last_exclusive = error_line;
    } else {
        let mut start = error_line;
        while !at_line_start && start > 0 && !is_boundary(&first_word(text, start), text, start) {
            start -= 1;
        }
        let head = first_word(text, start);
        if head == "campaign" || head == "group" {
            return false;
        }
        let mut end = error_line + 1;
        while end < lines.len() && !is_boundary(&first_word(text, end), text, end) {
            end += 1;
        }
        first = start;
        last_exclusive = end;
    }
    let from = lines[first];
    let to = lines.get(last_exclusive).copied().unwrap_or(text.len());
    let blanked: String = text[from..to].bytes().map(|b| if b == b'\n' { '\n' } else { ' ' }).collect();
    if blanked == text[from..to] {
        return false;
    }
    text.replace_range(from..to, &blanked);
    true
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// The text of a keyword rule, for "did you mean".
fn keyword_text(rule: Rule) -> Option<&'static str> {
    describe(rule)
        .and_then(|d| d.strip_prefix('`'))
        .and_then(|d| d.strip_suffix('`'))
        .filter(|d| d.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
}

/// What a syntax error says when a name was expected and a keyword was written.
pub const RESERVED_NAME: &str = "a name that is not a keyword (this word is reserved by the language)";

/// True for the language's reserved words.
fn is_keyword(word: &str) -> bool {
    !word.is_empty() && CampParser::parse(Rule::keyword_word, word).is_ok_and(|p| p.as_str() == word)
}

/// What a syntax error says when any value or expression would fit.
pub const A_VALUE: &str = "a value such as `10%`, `500 JPY` or `amount`";

/// What a syntax error says when any campaign line would fit.
pub const A_LINE: &str = "a campaign line such as `when` or `award`";

/// Rules that begin a campaign line.
fn starts_line(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        title_item
            | sponsor_item
            | period_item
            | unit_item
            | entry_item
            | when_item
            | unless_item
            | let_item
            | table_item
            | basis_item
            | counter_item
            | award_item
            | rounding_item
            | grant_item
            | refund_item
            | stack_item
            | kw_title
            | kw_sponsor
            | kw_period
            | kw_unit
            | kw_entry
            | kw_when
            | kw_unless
            | kw_let
            | kw_table
            | kw_basis
            | kw_counter
            | kw_award
            | kw_rounding
            | kw_grant
            | kw_refund
            | kw_stack
    )
}

/// Rules that can begin an expression: when several of them would fit, the error names
/// them together.
fn starts_expression(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        expr | lparen
            | op_neg
            | lbracket
            | any_item
            | kw_any
            | if_expr
            | kw_if
            | op_not
            | kw_not
            | kw_true
            | kw_false
            | date
            | datetime
            | number
            | integer
            | money
            | points
            | percent
            | duration
            | string
            | path
            | ident
            | name_ref
            | list
            | paren
    )
}

/// How a rule reads in an error message; `None` for rules a planner should not hear about.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        campaign | kw_campaign => "`campaign`",
        group | kw_group => "`group`",
        campaign_id => "a campaign id such as `ama-toku-4`",
        title_item | kw_title => "`title`",
        sponsor_item | kw_sponsor => "`sponsor`",
        period_item | kw_period => "`period`",
        unit_item | kw_unit => "`unit`",
        entry_item | kw_entry => "`entry`",
        when_item | kw_when => "`when`",
        unless_item | kw_unless => "`unless`",
        let_item | kw_let => "`let`",
        table_item | kw_table => "`table`",
        basis_item | kw_basis => "`basis`",
        counter_item | kw_counter => "`counter`",
        award_item | kw_award => "`award`",
        rounding_item | kw_rounding => "`rounding`",
        grant_item | kw_grant => "`grant`",
        refund_item | kw_refund => "`refund`",
        stack_item | kw_stack => "`stack`",
        kw_from => "`from`",
        kw_until => "`until`",
        kw_required => "`required`",
        kw_tenders => "`tenders`",
        kw_where | award_where => "`where`",
        kw_first | basis_first => "`first`",
        kw_of | award_basis => "`of`",
        kw_count | counter_count => "`count`",
        kw_sum | counter_sum => "`sum`",
        kw_per => "`per`",
        kw_payments => "`payments`",
        kw_payment => "`payment`",
        kw_month => "`month`",
        kw_up | award_caps => "`up to`",
        kw_to => "`to`",
        kw_on => "`on`",
        kw_next => "`next`",
        kw_days => "`days`",
        kw_hours => "`hours`",
        kw_minutes => "`minutes`",
        kw_after => "`after`",
        kw_at => "`at`",
        kw_for | grant_range => "`for`",
        kw_recompute => "`recompute`",
        kw_prorate => "`prorate`",
        kw_retroactive => "`retroactive`",
        kw_independent => "`independent`",
        kw_largest => "`largest`",
        kw_priority => "`priority`",
        kw_combined => "`combined`",
        kw_cut => "`cut`",
        kw_last => "`last`",
        kw_amount => "`amount`",
        kw_floor => "`floor`",
        kw_ceil => "`ceil`",
        kw_half_up => "`half_up`",
        kw_half_even => "`half_even`",
        kw_and | op_and => "`and`",
        kw_or | op_or => "`or`",
        kw_not | op_not => "`not`",
        kw_in | op_in => "`in`",
        kw_has | op_has => "`has`",
        kw_if | if_expr => "`if`",
        kw_then => "`then`",
        kw_else => "`else`",
        kw_any | any_item => "`any item in`",
        kw_item => "`item`",
        kw_window => "`window`",
        kw_default | op_default => "`default`",
        kw_is | op_is_set | op_is_not_set => "`is set`",
        kw_set => "`set`",
        kw_true | kw_false => "`true` or `false`",
        kw_by => "`by`",
        kw_points => "`points`",
        kw_enum | enum_decl => "`enum`",
        kw_field | field_decl => "`field`",
        kw_tender => "`tender`",
        type_name => "a type such as `money`",
        op_not_in => "`not in`",
        op_last_month => "`last month`",
        op_eq | op_ne | op_le | op_ge | op_lt | op_gt => "a comparison such as `==` or `>=`",
        op_add | op_sub | op_mul => "an operator such as `+` or `*`",
        op_neg => "`-`",
        expr | name_ref | call_args | path | ident | list | paren => "a value or a name",
        money => "an amount such as `500 JPY`",
        points => "points such as `300 points`",
        percent => "a rate such as `10%`",
        number | integer => "a number",
        ordinal => "a day such as `20th`",
        duration => "a duration such as `30 days`",
        date => "a date such as `2026-02-01`",
        time => "a time such as `12:00`",
        datetime => "a date and time such as `2026-02-01 00:00`",
        currency => "a currency such as `JPY`",
        zone => "a time zone such as `Asia/Tokyo`",
        string => "a text in double quotes",
        rounding_mode => "`floor`, `ceil`, `half_up` or `half_even`",
        refund_policy => "`recompute` or `prorate`",
        stack_independent | stack_largest | stack_combined => "`independent`, `largest` or `combined`",
        cap | cap_scope => "a cap such as `1000/payment`",
        counter_scope => "`month` or `period`",
        table_row | table_keys => "a table row such as `5: 2.5`",
        lbrace => "`{`",
        rbrace => "`}`",
        lparen => "`(`",
        rparen => "`)`",
        lbracket => "`[`",
        rbracket => "`]`",
        comma => "`,`",
        colon => "`:`",
        slash => "`/`",
        eq => "`=`",
        EOI => "end of file",
        _ => return None,
    })
}

// ---------------------------------------------------------------- lowering

/// A lowering step: its value, or the diagnostic that stopped it (boxed: it is the cold path).
type Lowered<T> = Result<T, Box<Diagnostic>>;

/// The span of a pair, ending at its last token: pest counts the whitespace and comments
/// skipped before an optional part that was absent as part of the rule, and spans must not.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    fn tight_end(pair: &Pair<'_, Rule>) -> usize {
        // Token rules end with literal text that has no pair of its own (`"`, `%`): they never
        // end in trivia, so their own end is right.
        let token = matches!(
            pair.as_rule(),
            Rule::string | Rule::path | Rule::datetime | Rule::money | Rule::points | Rule::percent | Rule::duration
        );
        if token {
            return pair.as_span().end();
        }
        match pair.clone().into_inner().last() {
            Some(last) => tight_end(&last),
            None => pair.as_span().end(),
        }
    }
    let offset = PIECE_OFFSET.get();
    Span::new(pair.as_span().start() + offset, tight_end(pair) + offset)
}

fn lower_file(pair: Pair<'_, Rule>, diagnostics: &mut Vec<Diagnostic>) -> File {
    let mut decls = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::campaign => decls.push(Decl::Campaign(lower_campaign(p, diagnostics))),
            Rule::group => decls.push(Decl::Group(lower_group(p))),
            Rule::unit_item => {
                let span = span_of(&p);
                match lower_item(p) {
                    Ok(Item { kind: ItemKind::Unit { name, value }, .. }) => {
                        decls.push(Decl::Unit(UnitDecl { name, value, span }));
                    }
                    Ok(_) => {}
                    Err(d) => diagnostics.push(*d),
                }
            }
            Rule::enum_decl => {
                let span = span_of(&p);
                let mut names = parts(p).into_iter().map(|q| ident(&q));
                let name = names.next().unwrap_or_else(|| missing_ident(span));
                decls.push(Decl::Enum(EnumDecl { name, values: names.collect(), span }));
            }
            Rule::field_decl => {
                let span = span_of(&p);
                let tender = has_keyword(&p, Rule::kw_tender);
                let ps = parts(p);
                let path = ps[0].clone().into_inner().map(|q| ident(&q)).collect();
                let set = has_keyword(&ps[1], Rule::kw_set);
                let ty = parts(ps[1].clone()).first().map(ident).unwrap_or_else(|| missing_ident(span));
                decls.push(Decl::Field(FieldDecl { tender, path, set, ty, span }));
            }
            _ => {}
        }
    }
    File { decls }
}

fn lower_group(pair: Pair<'_, Rule>) -> Group {
    let span = span_of(&pair);
    let mut name = Ident { name: String::new(), span };
    let mut title = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = ident(&p),
            Rule::title_item => title = p.into_inner().find(|q| q.as_rule() == Rule::string).map(|q| string(&q)),
            _ => {}
        }
    }
    Group { name, title, span }
}

fn lower_campaign(pair: Pair<'_, Rule>, diagnostics: &mut Vec<Diagnostic>) -> Campaign {
    let span = span_of(&pair);
    let mut id = Ident { name: String::new(), span };
    let mut items = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::campaign_id => id = Ident { name: p.as_str().to_string(), span: span_of(&p) },
            Rule::kw_campaign | Rule::lbrace | Rule::rbrace => {}
            _ => match lower_item(p) {
                Ok(item) => items.push(item),
                Err(d) => diagnostics.push(*d),
            },
        }
    }
    Campaign { id, items, span }
}

/// The meaningful children of a pair: keywords and punctuation dropped (`true`, `false`
/// and `else` carry meaning and stay).
fn parts(pair: Pair<'_, Rule>) -> Vec<Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_noise(p.as_rule())).collect()
}

/// Keywords and punctuation: the shape of a line, not its content.
fn is_noise(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::lbrace
            | Rule::rbrace
            | Rule::lparen
            | Rule::rparen
            | Rule::lbracket
            | Rule::rbracket
            | Rule::comma
            | Rule::colon
            | Rule::slash
            | Rule::eq
            | Rule::kw_campaign
            | Rule::kw_title
            | Rule::kw_sponsor
            | Rule::kw_period
            | Rule::kw_from
            | Rule::kw_until
            | Rule::kw_unit
            | Rule::kw_entry
            | Rule::kw_required
            | Rule::kw_when
            | Rule::kw_unless
            | Rule::kw_let
            | Rule::kw_table
            | Rule::kw_basis
            | Rule::kw_counter
            | Rule::kw_award
            | Rule::kw_rounding
            | Rule::kw_grant
            | Rule::kw_refund
            | Rule::kw_stack
            | Rule::kw_group
            | Rule::kw_tenders
            | Rule::kw_where
            | Rule::kw_first
            | Rule::kw_of
            | Rule::kw_count
            | Rule::kw_sum
            | Rule::kw_per
            | Rule::kw_payments
            | Rule::kw_payment
            | Rule::kw_month
            | Rule::kw_up
            | Rule::kw_to
            | Rule::kw_on
            | Rule::kw_next
            | Rule::kw_days
            | Rule::kw_hours
            | Rule::kw_minutes
            | Rule::kw_after
            | Rule::kw_at
            | Rule::kw_for
            | Rule::kw_recompute
            | Rule::kw_prorate
            | Rule::kw_retroactive
            | Rule::kw_independent
            | Rule::kw_largest
            | Rule::kw_priority
            | Rule::kw_combined
            | Rule::kw_cut
            | Rule::kw_last
            | Rule::kw_amount
            | Rule::kw_floor
            | Rule::kw_ceil
            | Rule::kw_half_up
            | Rule::kw_half_even
            | Rule::kw_and
            | Rule::kw_or
            | Rule::kw_not
            | Rule::kw_in
            | Rule::kw_has
            | Rule::kw_if
            | Rule::kw_then
            | Rule::kw_any
            | Rule::kw_item
            | Rule::kw_window
            | Rule::kw_default
            | Rule::kw_is
            | Rule::kw_set
            | Rule::kw_by
            | Rule::kw_points
            | Rule::kw_enum
            | Rule::kw_field
            | Rule::kw_tender
    )
}

fn has_keyword(pair: &Pair<'_, Rule>, rule: Rule) -> bool {
    pair.clone().into_inner().any(|p| p.as_rule() == rule)
}

fn lower_item(pair: Pair<'_, Rule>) -> Lowered<Item> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let kind = match rule {
        Rule::title_item => ItemKind::Title(string(&parts(pair)[0])),
        Rule::sponsor_item => ItemKind::Sponsor(string(&parts(pair)[0])),
        Rule::period_item => ItemKind::Period(lower_period(pair)?),
        Rule::unit_item => {
            let ps = parts(pair);
            ItemKind::Unit { name: ident(&ps[0]), value: money(&ps[1])? }
        }
        Rule::entry_item => ItemKind::EntryRequired,
        Rule::when_item => ItemKind::When(lower_expr(parts(pair).remove(0))?),
        Rule::unless_item => ItemKind::Unless(lower_expr(parts(pair).remove(0))?),
        Rule::let_item => {
            let mut ps = parts(pair).into_iter();
            let name = ps.next().map(|p| ident(&p)).unwrap_or_else(|| missing_ident(span));
            let value = lower_expr(ps.next().ok_or_else(|| internal(span))?)?;
            ItemKind::Let { name, value }
        }
        Rule::table_item => ItemKind::Table(lower_table(pair)?),
        Rule::basis_item => {
            let mut ps = parts(pair).into_iter();
            let name = ps.next().map(|p| ident(&p)).unwrap_or_else(|| missing_ident(span));
            let basis = lower_basis(ps.next().ok_or_else(|| internal(span))?)?;
            ItemKind::Basis { name, basis }
        }
        Rule::counter_item => ItemKind::Counter(lower_counter(pair)?),
        Rule::award_item => ItemKind::Award(lower_award(pair)?),
        Rule::rounding_item => {
            let mode = parts(pair).remove(0).into_inner().next().map(|p| p.as_rule());
            ItemKind::Rounding(match mode {
                Some(Rule::kw_ceil) => Rounding::Ceil,
                Some(Rule::kw_half_up) => Rounding::HalfUp,
                Some(Rule::kw_half_even) => Rounding::HalfEven,
                _ => Rounding::Floor,
            })
        }
        Rule::grant_item => ItemKind::Grant(lower_grant(pair)?),
        Rule::refund_item => {
            let retroactive = has_keyword(&pair, Rule::kw_retroactive);
            let policy = parts(pair).remove(0).into_inner().next().map(|p| p.as_rule());
            let policy = if policy == Some(Rule::kw_prorate) { RefundPolicy::Prorate } else { RefundPolicy::Recompute };
            ItemKind::Refund { policy, retroactive }
        }
        Rule::stack_item => ItemKind::Stack(lower_stack(parts(pair).remove(0))?),
        _ => return Err(internal(span)),
    };
    Ok(Item { kind, span })
}

fn internal(span: Span) -> Box<Diagnostic> {
    boxed(Message::Expected { found: None, expected: vec!["a complete line".to_string()] }, span)
}

fn boxed(message: Message, span: Span) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(message, span))
}

fn missing_ident(span: Span) -> Ident {
    Ident { name: String::new(), span }
}

fn lower_period(pair: Pair<'_, Rule>) -> Lowered<Period> {
    let mut period = Period { start: None, end: None, zone: None };
    for p in parts(pair) {
        match p.as_rule() {
            Rule::period_range => {
                let ps = parts(p);
                period.start = Some(instant(&ps[0])?);
                period.end = Some(instant(&ps[1])?);
            }
            Rule::period_from => period.start = Some(instant(&parts(p)[0])?),
            Rule::period_until => period.end = Some(instant(&parts(p)[0])?),
            Rule::zone => period.zone = Some(Ident { name: p.as_str().to_string(), span: span_of(&p) }),
            _ => {}
        }
    }
    Ok(period)
}

fn lower_table(pair: Pair<'_, Rule>) -> Lowered<Table> {
    let mut ps = parts(pair).into_iter();
    let name = ps.next().map(|p| ident(&p)).ok_or_else(|| internal(Span::default()))?;
    let key = lower_expr(ps.next().ok_or_else(|| internal(name.span))?)?;
    let mut rows = Vec::new();
    for row in ps {
        let span = span_of(&row);
        let mut keys = Vec::new();
        let mut value = None;
        for p in parts(row) {
            match p.as_rule() {
                Rule::kw_else => {}
                Rule::table_keys => {
                    for k in parts(p) {
                        keys.push(lower_primary(k)?);
                    }
                }
                _ => value = Some(lower_expr(p)?),
            }
        }
        rows.push(TableRow { keys, value: value.ok_or_else(|| internal(span))?, span });
    }
    Ok(Table { name, key, rows })
}

fn lower_basis(pair: Pair<'_, Rule>) -> Lowered<Basis> {
    let span = span_of(&pair);
    let mut first = None;
    let mut source = BasisSource::Tenders(None);
    for p in parts(pair) {
        match p.as_rule() {
            Rule::basis_first => first = Some(money(&parts(p)[0])?),
            Rule::basis_tenders => {
                let cond = parts(p).into_iter().next().map(lower_expr).transpose()?;
                source = BasisSource::Tenders(cond);
            }
            Rule::ident => source = BasisSource::Named(ident(&p)),
            _ => {}
        }
    }
    Ok(Basis { first, source, span })
}

fn lower_counter(pair: Pair<'_, Rule>) -> Lowered<Counter> {
    let span = span_of(&pair);
    let mut name = missing_ident(span);
    let mut aggregate = Aggregate::Count(None);
    let mut scope = CounterScope::Month;
    for p in parts(pair) {
        match p.as_rule() {
            Rule::ident => name = ident(&p),
            Rule::counter_count => {
                aggregate = Aggregate::Count(parts(p).into_iter().next().map(lower_expr).transpose()?);
            }
            Rule::counter_sum => {
                let mut es = parts(p).into_iter();
                let sum = lower_expr(es.next().ok_or_else(|| internal(span))?)?;
                aggregate = Aggregate::Sum(sum, es.next().map(lower_expr).transpose()?);
            }
            Rule::counter_scope => {
                scope = if has_keyword(&p, Rule::kw_period) { CounterScope::Period } else { CounterScope::Month };
            }
            _ => {}
        }
    }
    Ok(Counter { name, aggregate, scope })
}

fn lower_award(pair: Pair<'_, Rule>) -> Lowered<Award> {
    let span = span_of(&pair);
    let mut ps = parts(pair).into_iter();
    let value = lower_expr(ps.next().ok_or_else(|| internal(span))?)?;
    let mut award = Award { value, basis: None, caps: Vec::new(), tenders: None };
    for p in ps {
        match p.as_rule() {
            Rule::award_basis => award.basis = Some(lower_basis(parts(p).remove(0))?),
            Rule::award_caps => {
                for cap in parts(p) {
                    let cap_span = span_of(&cap);
                    let cs = parts(cap);
                    let value = lower_primary(cs[0].clone())?;
                    let scope = if has_keyword(&cs[1], Rule::kw_payment) {
                        CapScope::Payment
                    } else if has_keyword(&cs[1], Rule::kw_month) {
                        CapScope::Month
                    } else {
                        CapScope::Period
                    };
                    award.caps.push(Cap { value, scope, span: cap_span });
                }
            }
            Rule::award_where => award.tenders = Some(lower_expr(parts(p).remove(0))?),
            _ => {}
        }
    }
    Ok(award)
}

fn lower_grant(pair: Pair<'_, Rule>) -> Lowered<Grant> {
    let mut grant = Grant { when: GrantWhen::AtPayment, from: None, to: None };
    for p in parts(pair) {
        let span = span_of(&p);
        match p.as_rule() {
            Rule::grant_on_date => grant.when = GrantWhen::OnDate(date(&parts(p)[0])?),
            Rule::grant_next_month => grant.when = GrantWhen::DayOfNextMonth(ordinal(&parts(p)[0])?),
            Rule::grant_after => grant.when = GrantWhen::DaysAfter(small_integer(&parts(p)[0])?),
            Rule::grant_at_payment => grant.when = GrantWhen::AtPayment,
            Rule::grant_range => {
                for q in parts(p) {
                    let at = instant(&parts(q.clone())[0])?;
                    if q.as_rule() == Rule::grant_from {
                        grant.from = Some(at);
                    } else {
                        grant.to = Some(at);
                    }
                }
            }
            _ => return Err(internal(span)),
        }
    }
    Ok(grant)
}

fn lower_stack(pair: Pair<'_, Rule>) -> Lowered<Stack> {
    Ok(match pair.as_rule() {
        Rule::stack_largest => {
            let cut = parts(pair);
            let group = ident(&cut[0]);
            let priority = cut.get(1).map(small_integer).transpose()?;
            Stack::Largest { group, priority }
        }
        Rule::stack_combined => {
            let cut_first = has_keyword(&pair, Rule::kw_first);
            let share = percent(&parts(pair)[0])?;
            Stack::Combined { share, cut_first }
        }
        _ => Stack::Independent,
    })
}

// ---------------------------------------------------------------- expressions

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_not_in, Assoc::Left)
            | Op::infix(Rule::op_has, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
        .op(Op::postfix(Rule::op_last_month)
            | Op::postfix(Rule::op_default)
            | Op::postfix(Rule::op_is_set)
            | Op::postfix(Rule::op_is_not_set))
});

fn lower_expr(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    if pair.as_rule() != Rule::expr {
        return lower_primary(pair);
    }
    PRATT
        .map_primary(lower_primary)
        .map_prefix(|op, operand| {
            let operand = operand?;
            let span = span_of(&op).to(operand.span);
            let op = if op.as_rule() == Rule::op_not { UnaryOp::Not } else { UnaryOp::Neg };
            Ok(Expr { kind: ExprKind::Unary(op, Box::new(operand)), span })
        })
        .map_postfix(|operand, op| {
            let operand = operand?;
            let span = operand.span.to(span_of(&op));
            let kind = match op.as_rule() {
                Rule::op_last_month => {
                    let ps = parts(op);
                    let window = match (ps.first(), ps.get(1)) {
                        (Some(day), Some(t)) => Some(WindowStart { day: ordinal(day)?, time: time(t)?.0 }),
                        _ => None,
                    };
                    ExprKind::LastMonth(Box::new(operand), window)
                }
                Rule::op_default => ExprKind::Default(Box::new(operand), Box::new(lower_primary(parts(op).remove(0))?)),
                Rule::op_is_set => ExprKind::IsSet(Box::new(operand), true),
                _ => ExprKind::IsSet(Box::new(operand), false),
            };
            Ok(Expr { kind, span })
        })
        .map_infix(|left, op, right| {
            let (left, right) = (left?, right?);
            let span = left.span.to(right.span);
            let op = match op.as_rule() {
                Rule::op_or => BinaryOp::Or,
                Rule::op_and => BinaryOp::And,
                Rule::op_eq => BinaryOp::Eq,
                Rule::op_ne => BinaryOp::Ne,
                Rule::op_lt => BinaryOp::Lt,
                Rule::op_le => BinaryOp::Le,
                Rule::op_gt => BinaryOp::Gt,
                Rule::op_ge => BinaryOp::Ge,
                Rule::op_in => BinaryOp::In,
                Rule::op_not_in => BinaryOp::NotIn,
                Rule::op_has => BinaryOp::Has,
                Rule::op_add => BinaryOp::Add,
                Rule::op_sub => BinaryOp::Sub,
                _ => BinaryOp::Mul,
            };
            Ok(Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span })
        })
        .parse(pair.into_inner())
}

fn lower_primary(pair: Pair<'_, Rule>) -> Lowered<Expr> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::expr => return lower_expr(pair),
        Rule::number => ExprKind::Number(decimal(&pair)?),
        Rule::percent => ExprKind::Percent(percent(&pair)?),
        Rule::money => {
            let m = money(&pair)?;
            ExprKind::Money(m.amount, m.currency)
        }
        Rule::points => ExprKind::Points(decimal(&parts(pair)[0])?),
        Rule::duration => {
            let ps: Vec<_> = pair.into_inner().collect();
            let n = small_integer(&ps[0])?;
            let unit = match ps[1].clone().into_inner().next().map(|p| p.as_rule()) {
                Some(Rule::kw_hours) => DurationUnit::Hours,
                Some(Rule::kw_minutes) => DurationUnit::Minutes,
                _ => DurationUnit::Days,
            };
            ExprKind::Duration(n, unit)
        }
        Rule::string => ExprKind::Str(string(&pair).value),
        Rule::kw_true => ExprKind::Bool(true),
        Rule::kw_false => ExprKind::Bool(false),
        Rule::date => ExprKind::Date(date(&pair)?),
        Rule::datetime => {
            let ps: Vec<_> = pair.into_inner().collect();
            let d = date(&ps[0])?;
            let (t, precision) = time(&ps[1])?;
            ExprKind::DateTime(d.and_time(t), precision)
        }
        Rule::list => ExprKind::List(parts(pair).into_iter().map(lower_primary).collect::<Lowered<_>>()?),
        Rule::path => ExprKind::Path(pair.into_inner().map(|p| ident(&p)).collect()),
        Rule::ident => ExprKind::Path(vec![ident(&pair)]),
        Rule::name_ref => {
            let mut ps = pair.into_inner();
            let path = ps.next().ok_or_else(|| internal(span))?;
            match ps.next() {
                None => return lower_primary(path),
                Some(args) => {
                    let mut names = path.clone().into_inner();
                    let name = names.next().map(|p| ident(&p)).ok_or_else(|| internal(span))?;
                    if let Some(dotted) = names.next() {
                        // `a.b(...)`: only plain names can be called.
                        let found = format!(".{}", dotted.as_str());
                        return Err(boxed(
                            Message::Expected { found: Some(found), expected: vec!["`(`".to_string()] },
                            span_of(&dotted),
                        ));
                    }
                    ExprKind::Call(name, parts(args).into_iter().map(lower_expr).collect::<Lowered<_>>()?)
                }
            }
        }
        Rule::paren => ExprKind::Paren(Box::new(lower_expr(parts(pair).remove(0))?)),
        Rule::if_expr => {
            let mut ps = parts(pair).into_iter().filter(|p| p.as_rule() != Rule::kw_else).map(lower_expr);
            let mut next = || ps.next().unwrap_or_else(|| Err(internal(span)));
            let (c, a, b) = (next()?, next()?, next()?);
            ExprKind::If(Box::new(c), Box::new(a), Box::new(b))
        }
        Rule::any_item => ExprKind::AnyItemIn(Box::new(lower_primary(parts(pair).remove(0))?)),
        _ => return Err(internal(span)),
    };
    Ok(Expr { kind, span })
}

// ---------------------------------------------------------------- tokens

fn ident(pair: &Pair<'_, Rule>) -> Ident {
    Ident { name: pair.as_str().to_string(), span: span_of(pair) }
}

fn string(pair: &Pair<'_, Rule>) -> Str {
    let raw = pair.as_str();
    let inner = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(other) => value.push(other),
                None => {}
            }
        } else {
            value.push(c);
        }
    }
    Str { value, span: span_of(pair) }
}

fn decimal(pair: &Pair<'_, Rule>) -> Lowered<Decimal> {
    let text: String = pair.as_str().chars().filter(|c| *c != '_').collect();
    text.parse::<Decimal>()
        .map_err(|_| boxed(Message::InvalidNumber { text: pair.as_str().to_string() }, span_of(pair)))
}

fn small_integer(pair: &Pair<'_, Rule>) -> Lowered<u32> {
    pair.as_str()
        .parse::<u32>()
        .map_err(|_| boxed(Message::InvalidNumber { text: pair.as_str().to_string() }, span_of(pair)))
}

fn percent(pair: &Pair<'_, Rule>) -> Lowered<Decimal> {
    decimal(&pair.clone().into_inner().next().ok_or_else(|| internal(span_of(pair)))?)
}

fn money(pair: &Pair<'_, Rule>) -> Lowered<Money> {
    let mut ps = pair.clone().into_inner();
    let amount = decimal(&ps.next().ok_or_else(|| internal(span_of(pair)))?)?;
    let currency = ps.next().map(|p| p.as_str()).unwrap_or("JPY");
    let currency = if currency == "円" { "JPY" } else { currency };
    Ok(Money { amount, currency: currency.to_string(), span: span_of(pair) })
}

fn date(pair: &Pair<'_, Rule>) -> Lowered<NaiveDate> {
    NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d")
        .map_err(|_| boxed(Message::InvalidDate { text: pair.as_str().to_string() }, span_of(pair)))
}

fn time(pair: &Pair<'_, Rule>) -> Lowered<(NaiveTime, TimePrecision)> {
    let text = pair.as_str();
    let (format, precision) =
        if text.len() > 5 { ("%H:%M:%S", TimePrecision::Second) } else { ("%H:%M", TimePrecision::Minute) };
    NaiveTime::parse_from_str(text, format)
        .map(|t| (t, precision))
        .map_err(|_| boxed(Message::InvalidDate { text: text.to_string() }, span_of(pair)))
}

fn instant(pair: &Pair<'_, Rule>) -> Lowered<Instant> {
    let span = span_of(pair);
    match pair.as_rule() {
        Rule::datetime => {
            let ps: Vec<_> = pair.clone().into_inner().collect();
            Ok(Instant { date: date(&ps[0])?, time: Some(time(&ps[1])?), span })
        }
        _ => Ok(Instant { date: date(pair)?, time: None, span }),
    }
}

fn ordinal(pair: &Pair<'_, Rule>) -> Lowered<u32> {
    let digits: String = pair.as_str().chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<u32>() {
        Ok(day) if (1..=31).contains(&day) => Ok(day),
        _ => Err(boxed(Message::InvalidDate { text: pair.as_str().to_string() }, span_of(pair))),
    }
}

/// Runs only the pest parser (no lowering): for benchmarks that split the cost.
#[doc(hidden)]
pub fn pest_only(src: &str) -> bool {
    CampParser::parse(Rule::file, src).is_ok()
}
