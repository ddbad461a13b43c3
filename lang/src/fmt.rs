//! The canonical layout of `.camp` files: `campc fmt`.
//!
//! One line per campaign line, two-space indent, one space around operators, the planner's
//! parentheses and comments kept, at most one blank line kept between lines. Formatting is
//! idempotent, and `parse(format(ast)) == ast` for every tree (spans aside).

use std::fmt::Write;

use crate::ast::*;
use crate::diag::Diagnostic;

/// Formats a source file. Fails with the syntax errors when it does not parse: a file is
/// never reformatted from a partial reading.
pub fn format_source(src: &str) -> Result<String, Vec<Diagnostic>> {
    let (file, diagnostics) = crate::syntax::parse(src);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Ok(Printer::new(src).file(&file))
}

/// Formats a tree without comments (used for generated programs and tests).
pub fn format_file(file: &File) -> String {
    Printer::new("").file(file)
}

/// One expression, as `campc fmt` writes it.
pub fn expr_to_string(e: &Expr) -> String {
    let mut out = String::new();
    expr(&mut out, e);
    out
}

/// A comment in the source: where it starts and its text.
struct Comment {
    start: usize,
    text: String,
}

/// Finds the comments of a source text, skipping strings.
fn comments(src: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'#' || (b == b'/' && bytes.get(i + 1) == Some(&b'/')) {
            let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
            out.push(Comment { start: i, text: src[i..end].trim_end().to_string() });
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    next_comment: usize,
    out: String,
    /// End of the last thing printed from the source, for blank lines.
    last_end: usize,
}

impl<'a> Printer<'a> {
    fn new(src: &'a str) -> Printer<'a> {
        Printer { src, comments: comments(src), next_comment: 0, out: String::new(), last_end: 0 }
    }

    /// True when the source has a blank line between the last thing printed and `pos`.
    fn blank_before(&self, pos: usize) -> bool {
        if self.src.is_empty() || self.last_end == 0 || pos <= self.last_end {
            return false;
        }
        let gap = &self.src[self.last_end..pos.min(self.src.len())];
        gap.matches('\n').count() >= 2 && gap.trim().is_empty()
    }

    /// Ends the output with one blank line, unless it already does or is empty.
    fn blank_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Prints the comments that stand before `pos` on lines of their own.
    fn comments_before(&mut self, pos: usize, indent: &str) {
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.start >= pos {
                break;
            }
            let (start, text) = (c.start, c.text.clone());
            if self.blank_before(start) {
                self.blank_line();
            }
            let _ = writeln!(self.out, "{indent}{text}");
            self.last_end = start + text.len();
            self.next_comment += 1;
        }
    }

    /// Appends a comment that follows `end` on the same source line.
    fn trailing_comment(&mut self, end: usize) {
        if self.src.is_empty() {
            self.out.push('\n');
            return;
        }
        let line_end = self.src[end.min(self.src.len())..].find('\n').map_or(self.src.len(), |n| end + n);
        if let Some(c) = self.comments.get(self.next_comment)
            && c.start >= end
            && c.start < line_end
        {
            let _ = write!(self.out, "  {}", c.text);
            self.last_end = c.start + c.text.len();
            self.next_comment += 1;
            self.out.push('\n');
            return;
        }
        self.last_end = end;
        self.out.push('\n');
    }

    /// Starts a line for a node at `span`: leading comments, a kept blank line, the indent.
    fn begin(&mut self, span: Span, indent: &str) {
        self.comments_before(span.start, indent);
        if self.blank_before(span.start) {
            self.blank_line();
        }
        self.out.push_str(indent);
    }

    fn file(mut self, file: &File) -> String {
        let mut previous: Option<&Decl> = None;
        for decl in &file.decls {
            // Consecutive field lines stay together unless the source parts them.
            let together = matches!(
                (previous, decl),
                (Some(Decl::Field(_)), Decl::Field(_)) | (Some(Decl::Unit(_)), Decl::Unit(_))
            ) && !self.blank_before(decl.span().start);
            if previous.is_some() && !together {
                self.blank_line();
            }
            self.comments_before(decl.span().start, "");
            if self.blank_before(decl.span().start) {
                self.blank_line();
            }
            match decl {
                Decl::Campaign(c) => self.campaign(c),
                Decl::Group(g) => self.group(g),
                Decl::Enum(e) => self.enum_decl(e),
                Decl::Field(f) => self.field_decl(f),
                Decl::Unit(u) => {
                    let _ = write!(self.out, "unit {} = ", u.name.name);
                    money(&mut self.out, u.value.amount, &u.value.currency);
                    self.trailing_comment(u.span.end);
                }
            }
            previous = Some(decl);
        }
        self.comments_before(usize::MAX, "");
        self.out
    }

    fn campaign(&mut self, c: &Campaign) {
        let _ = write!(self.out, "campaign {} {{", c.id.name);
        self.trailing_comment(c.id.span.end);
        for item in &c.items {
            self.begin(item.span, "  ");
            self.item(item);
        }
        self.comments_before(c.span.end, "  ");
        self.out.push('}');
        self.trailing_comment(c.span.end);
    }

    fn group(&mut self, g: &Group) {
        match &g.title {
            Some(t) => {
                let _ = write!(self.out, "group {} {{\n  title ", g.name.name);
                string(&mut self.out, &t.value);
                self.out.push_str("\n}");
            }
            None => {
                let _ = write!(self.out, "group {} {{}}", g.name.name);
            }
        }
        self.trailing_comment(g.span.end);
    }

    fn enum_decl(&mut self, e: &EnumDecl) {
        let values: Vec<&str> = e.values.iter().map(|v| v.name.as_str()).collect();
        let one_line = format!("enum {} {{ {} }}", e.name.name, values.join(", "));
        if one_line.len() <= 96 {
            self.out.push_str(&one_line);
        } else {
            let _ = writeln!(self.out, "enum {} {{", e.name.name);
            let mut line = String::from(" ");
            for v in values {
                if line.len() + v.len() + 2 > 96 {
                    let _ = writeln!(self.out, "{line}");
                    line = String::from(" ");
                }
                let _ = write!(line, " {v},");
            }
            let _ = writeln!(self.out, "{line}");
            self.out.push('}');
        }
        self.trailing_comment(e.span.end);
    }

    fn field_decl(&mut self, f: &FieldDecl) {
        if f.tender {
            self.out.push_str("tender ");
        }
        let path: Vec<&str> = f.path.iter().map(|i| i.name.as_str()).collect();
        let _ = write!(self.out, "field {}: {}{}", path.join("."), if f.set { "set of " } else { "" }, f.ty.name);
        self.trailing_comment(f.span.end);
    }

    fn item(&mut self, item: &Item) {
        let out = &mut self.out;
        match &item.kind {
            ItemKind::Title(s) => {
                out.push_str("title ");
                string(out, &s.value);
            }
            ItemKind::Sponsor(s) => {
                out.push_str("sponsor ");
                string(out, &s.value);
            }
            ItemKind::Period(p) => {
                out.push_str("period ");
                match (&p.start, &p.end) {
                    (Some(s), Some(e)) => {
                        instant(out, s);
                        out.push_str(" to ");
                        instant(out, e);
                    }
                    (Some(s), None) => {
                        out.push_str("from ");
                        instant(out, s);
                    }
                    (None, Some(e)) => {
                        out.push_str("until ");
                        instant(out, e);
                    }
                    (None, None) => {}
                }
                if let Some(z) = &p.zone {
                    let _ = write!(out, " in {}", z.name);
                }
            }
            ItemKind::Unit { name, value } => {
                let _ = write!(out, "unit {} = ", name.name);
                money(out, value.amount, &value.currency);
            }
            ItemKind::EntryRequired => out.push_str("entry required"),
            ItemKind::When(e) => {
                out.push_str("when ");
                expr(out, e);
            }
            ItemKind::Unless(e) => {
                out.push_str("unless ");
                expr(out, e);
            }
            ItemKind::Let { name, value } => {
                let _ = write!(out, "let {} = ", name.name);
                expr(out, value);
            }
            ItemKind::Table(t) => {
                let _ = write!(out, "table {} by ", t.name.name);
                expr(out, &t.key);
                out.push_str(" {");
                let key_end = t.key.span.end;
                self.trailing_comment(key_end);
                for row in &t.rows {
                    self.begin(row.span, "    ");
                    if row.keys.is_empty() {
                        self.out.push_str("else");
                    } else {
                        let keys: Vec<String> = row.keys.iter().map(expr_to_string).collect();
                        self.out.push_str(&keys.join(", "));
                    }
                    self.out.push_str(": ");
                    expr(&mut self.out, &row.value);
                    self.trailing_comment(row.span.end);
                }
                self.comments_before(item.span.end, "    ");
                self.out.push_str("  }");
            }
            ItemKind::Basis { name, basis: b } => {
                let _ = write!(out, "basis {} = ", name.name);
                basis(out, b);
            }
            ItemKind::Counter(c) => {
                let _ = write!(out, "counter {} = ", c.name.name);
                match &c.aggregate {
                    Aggregate::Count(filter) => {
                        out.push_str("count payments");
                        if let Some(f) = filter {
                            out.push_str(" where ");
                            expr(out, f);
                        }
                    }
                    Aggregate::Sum(sum, filter) => {
                        out.push_str("sum ");
                        expr(out, sum);
                        if let Some(f) = filter {
                            out.push_str(" where ");
                            expr(out, f);
                        }
                    }
                }
                out.push_str(match c.scope {
                    CounterScope::Month => " per month",
                    CounterScope::Period => " per period",
                });
            }
            ItemKind::Award(a) => {
                out.push_str("award ");
                expr(out, &a.value);
                if let Some(b) = &a.basis {
                    out.push_str(" of ");
                    basis(out, b);
                }
                for (i, cap) in a.caps.iter().enumerate() {
                    out.push_str(if i == 0 { " up to " } else { ", " });
                    expr(out, &cap.value);
                    out.push_str(match cap.scope {
                        CapScope::Payment => "/payment",
                        CapScope::Period => "/period",
                        CapScope::Month => "/month",
                    });
                }
                if let Some(t) = &a.tenders {
                    out.push_str(" where ");
                    expr(out, t);
                }
            }
            ItemKind::Rounding(r) => {
                out.push_str(match r {
                    Rounding::Floor => "rounding floor",
                    Rounding::Ceil => "rounding ceil",
                    Rounding::HalfUp => "rounding half_up",
                    Rounding::HalfEven => "rounding half_even",
                });
            }
            ItemKind::Grant(g) => {
                out.push_str("grant ");
                match &g.when {
                    GrantWhen::OnDate(d) => {
                        let _ = write!(out, "on {}", d.format("%Y-%m-%d"));
                    }
                    GrantWhen::DayOfNextMonth(d) => {
                        let _ = write!(out, "on {} of next month", ordinal(*d));
                    }
                    GrantWhen::DaysAfter(n) => {
                        let _ = write!(out, "{n} days after payment");
                    }
                    GrantWhen::AtPayment => out.push_str("at payment"),
                }
                if g.from.is_some() || g.to.is_some() {
                    out.push_str(" for payments");
                }
                if let Some(f) = &g.from {
                    out.push_str(" from ");
                    instant(out, f);
                }
                if let Some(t) = &g.to {
                    out.push_str(" to ");
                    instant(out, t);
                }
            }
            ItemKind::Refund { policy, retroactive } => {
                out.push_str(match policy {
                    RefundPolicy::Recompute => "refund recompute",
                    RefundPolicy::Prorate => "refund prorate",
                });
                if *retroactive {
                    out.push_str(" retroactive");
                }
            }
            ItemKind::Stack(s) => match s {
                Stack::Independent => out.push_str("stack independent"),
                Stack::Largest { group, priority } => {
                    let _ = write!(out, "stack largest in {}", group.name);
                    if let Some(p) = priority {
                        let _ = write!(out, " priority {p}");
                    }
                }
                Stack::Combined { share, cut_first } => {
                    let _ = write!(
                        out,
                        "stack combined up to {share}% of amount, cut {}",
                        if *cut_first { "first" } else { "last" }
                    );
                }
            },
        }
        self.trailing_comment(item.span.end);
    }
}

fn ordinal(day: u32) -> String {
    let suffix = match (day % 10, day % 100) {
        (1, n) if n != 11 => "st",
        (2, n) if n != 12 => "nd",
        (3, n) if n != 13 => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn money(out: &mut String, amount: rust_decimal::Decimal, currency: &str) {
    let _ = write!(out, "{amount} {currency}");
}

fn instant(out: &mut String, i: &Instant) {
    let _ = write!(out, "{}", i.date.format("%Y-%m-%d"));
    if let Some((t, precision)) = i.time {
        time(out, t, precision);
    }
}

fn time(out: &mut String, t: chrono::NaiveTime, precision: TimePrecision) {
    let format = match precision {
        TimePrecision::Minute => " %H:%M",
        TimePrecision::Second => " %H:%M:%S",
    };
    let _ = write!(out, "{}", t.format(format));
}

fn basis(out: &mut String, b: &Basis) {
    if let Some(first) = &b.first {
        out.push_str("first ");
        money(out, first.amount, &first.currency);
        out.push_str(" of ");
    }
    match &b.source {
        BasisSource::Tenders(None) => out.push_str("tenders"),
        BasisSource::Tenders(Some(cond)) => {
            out.push_str("tenders where ");
            expr(out, cond);
        }
        BasisSource::Named(name) => out.push_str(&name.name),
    }
}

fn expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Number(n) => {
            let _ = write!(out, "{n}");
        }
        ExprKind::Percent(p) => {
            let _ = write!(out, "{p}%");
        }
        ExprKind::Money(n, c) => money(out, *n, c),
        ExprKind::Points(n) => {
            let _ = write!(out, "{n} points");
        }
        ExprKind::Duration(n, unit) => {
            let unit = match unit {
                DurationUnit::Days => "days",
                DurationUnit::Hours => "hours",
                DurationUnit::Minutes => "minutes",
            };
            let _ = write!(out, "{n} {unit}");
        }
        ExprKind::Str(s) => string(out, s),
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        ExprKind::DateTime(t, precision) => {
            let _ = write!(out, "{}", t.date().format("%Y-%m-%d"));
            time(out, t.time(), *precision);
        }
        ExprKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, item);
            }
            out.push(']');
        }
        ExprKind::Path(path) => {
            let names: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
            out.push_str(&names.join("."));
        }
        ExprKind::Call(name, args) => {
            out.push_str(&name.name);
            out.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, arg);
            }
            out.push(')');
        }
        ExprKind::Unary(UnaryOp::Not, inner) => {
            out.push_str("not ");
            expr(out, inner);
        }
        ExprKind::Unary(UnaryOp::Neg, inner) => {
            out.push('-');
            expr(out, inner);
        }
        ExprKind::Binary(op, a, b) => {
            expr(out, a);
            let _ = write!(out, " {} ", op.symbol());
            expr(out, b);
        }
        ExprKind::If(c, a, b) => {
            out.push_str("if ");
            expr(out, c);
            out.push_str(" then ");
            expr(out, a);
            out.push_str(" else ");
            expr(out, b);
        }
        ExprKind::AnyItemIn(list) => {
            out.push_str("any item in ");
            expr(out, list);
        }
        ExprKind::LastMonth(inner, window) => {
            expr(out, inner);
            out.push_str(" last month");
            if let Some(w) = window {
                let _ = write!(out, " window from {}", ordinal(w.day));
                let precision =
                    if chrono::Timelike::second(&w.time) == 0 { TimePrecision::Minute } else { TimePrecision::Second };
                time(out, w.time, precision);
            }
        }
        ExprKind::Default(value, fallback) => {
            expr(out, value);
            out.push_str(" default ");
            expr(out, fallback);
        }
        ExprKind::IsSet(inner, set) => {
            expr(out, inner);
            out.push_str(if *set { " is set" } else { " is not set" });
        }
        ExprKind::Paren(inner) => {
            out.push('(');
            expr(out, inner);
            out.push(')');
        }
    }
}
