//! The page behind every diagnostic code: what it means, an example, the fix.
//!
//! `campc explain CODE` prints these. A test checks that every [`Code`] has a page and that
//! every page's example really produces its code.

use crate::diag::{Code, Lang};

/// One code's page.
struct Page {
    summary_en: &'static str,
    summary_ja: &'static str,
    /// What it means, in English.
    means_en: &'static str,
    /// What it means, in Japanese.
    means_ja: &'static str,
    /// A campaign (or a few lines of one) that produces the code.
    example: &'static str,
    /// The fix, in English.
    fix_en: &'static str,
    /// The fix, in Japanese.
    fix_ja: &'static str,
}

/// A short line about the code, for the list `campc explain` prints.
pub fn summary(code: Code, lang: Lang) -> &'static str {
    let p = page_of(code);
    match lang {
        Lang::En => p.summary_en,
        Lang::Ja => p.summary_ja,
    }
}

/// The example that produces the code: a whole `.camp` file.
pub fn example(code: Code) -> String {
    wrap(page_of(code).example)
}

/// The full page of a code.
pub fn page(code: Code, lang: Lang) -> String {
    let p = page_of(code);
    let (means, fix, h) = match lang {
        Lang::En => (p.means_en, p.fix_en, ["What it means", "Example", "Fix"]),
        Lang::Ja => (p.means_ja, p.fix_ja, ["意味", "例", "直し方"]),
    };
    let example: String = example(code).lines().map(|l| format!("    {l}\n")).collect();
    format!("{code}: {}\n\n{}\n\n{means}\n\n{}\n\n{example}\n{}\n\n{fix}\n", summary(code, lang), h[0], h[1], h[2])
}

/// Examples that are only a few campaign lines get a campaign around them.
fn wrap(example: &str) -> String {
    if example.trim_start().starts_with("campaign") || example.trim_start().starts_with('#') {
        return example.trim().to_string() + "\n";
    }
    let mut out = String::from(
        "campaign example {\n  title \"example\"\n  period 2026-02-01 to 2026-02-28 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n",
    );
    for line in example.trim().lines() {
        out.push_str("  ");
        out.push_str(line.trim());
        out.push('\n');
    }
    if !example.contains("award") {
        out.push_str("  award 1%\n");
    }
    if !example.contains("stack") {
        out.push_str("  stack independent\n");
    }
    out.push_str("}\n");
    out
}

fn page_of(code: Code) -> Page {
    match code {
        Code::E0101 => Page {
            summary_en: "the text does not fit the language here",
            summary_ja: "ここに書ける形ではありません",
            means_en: "The line cannot be read: something else was expected at this point. The label lists what would have fitted.",
            means_ja: "この位置で別のものが必要なため、行を読み取れません。ラベルに書ける候補が表示されます。",
            example: "award 10% up to 1000/payment,",
            fix_en: "Complete or correct the line as the label says. Here a second cap is missing after the comma: `award 10% up to 1000/payment, 3000/period`.",
            fix_ja: "ラベルの候補に合わせて行を直します。この例ではカンマの後の二つ目の上限が抜けています: `award 10% up to 1000/payment, 3000/period`。",
        },
        Code::E0102 => Page {
            summary_en: "a misspelled keyword",
            summary_ja: "キーワードの綴り間違い",
            means_en: "A word stands where a keyword belongs and is close to one: most likely a typo.",
            means_ja: "キーワードを書く位置に、キーワードに似た別の語があります。多くは打ち間違いです。",
            example: "awrd 10%",
            fix_en: "Write the keyword the help suggests: `award 10%`.",
            fix_ja: "ヘルプが示すキーワードに直します: `award 10%`。",
        },
        Code::E0103 => Page {
            summary_en: "a number that cannot be held exactly",
            summary_ja: "正確に扱えない数",
            means_en: "Camp keeps every amount and rate exact, as a decimal of at most 28 significant digits. This number has more.",
            means_ja: "Camp は金額や率を最大 28 桁の十進数として正確に扱います。この数はそれを超えています。",
            example: "award 10% up to 99999999999999999999999999999999/payment",
            fix_en: "Write the number the terms state; caps and amounts never need this many digits.",
            fix_ja: "規約に書かれた数を書きます。上限や金額にこれほどの桁は要りません。",
        },
        Code::E0104 => Page {
            summary_en: "a date or time that does not exist",
            summary_ja: "存在しない日付・時刻",
            means_en: "The date or time is well formed but names no real day or time, such as February 30th or 24:30.",
            means_ja: "日付や時刻の形は正しいものの、2月30日や 24:30 のように実在しません。",
            example: "campaign example {\n  title \"example\"\n  period 2026-02-01 to 2026-02-30 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n  award 1%\n  stack independent\n}",
            fix_en: "Use the real last day: `period 2026-02-01 to 2026-02-28`. A period's end includes the whole day (or minute, or second) written.",
            fix_ja: "実在する最終日を書きます: `period 2026-02-01 to 2026-02-28`。期間の終わりは書かれた日 (分・秒) の全体を含みます。",
        },
        Code::E0105 => Page {
            summary_en: "an unknown time zone",
            summary_ja: "不明なタイムゾーン",
            means_en: "The period names a time zone that is neither an IANA name (such as `Asia/Tokyo`) nor an offset (such as `+09:00`). Periods, calendar months and grant dates are all read in it.",
            means_ja: "期間のタイムゾーンが IANA の名前 (`Asia/Tokyo` など) でも時差 (`+09:00` など) でもありません。期間・暦月・付与日はすべてこのタイムゾーンで読まれます。",
            example: "campaign example {\n  title \"example\"\n  period 2026-02-01 to 2026-02-28 in Asia/Tokio\n  unit paypay_point = 1 JPY\n  award 1%\n  stack independent\n}",
            fix_en: "Write the zone as the help suggests: `in Asia/Tokyo`.",
            fix_ja: "ヘルプが示すタイムゾーンに直します: `in Asia/Tokyo`。",
        },
        Code::E0106 => Page {
            summary_en: "a line nested too deeply",
            summary_ja: "入れ子が深すぎる行",
            means_en: "Brackets nest more than 64 deep, or one line chains more than 512 operators. No campaign term needs this; it is refused so that checking always finishes quickly.",
            means_ja: "括弧が 64 段を超えて入れ子になっているか、一行に 512 を超える演算子があります。キャンペーンの規約にこれほどは要らず、検査が必ず速く終わるよう受け付けません。",
            example: "when ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((true))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
            fix_en: "Name parts of the expression with `let` and combine the names.",
            fix_ja: "式の部分に `let` で名前を付け、名前を組み合わせます。",
        },
        Code::E0201 => Page {
            summary_en: "an unknown field",
            summary_ja: "不明な項目",
            means_en: "The campaign reads a field that events do not have. The fields are those of EVENTS.md, declared in `stdlib/vocabulary.camp`.",
            means_ja: "イベントにない項目を読んでいます。使える項目は EVENTS.md のもので、`stdlib/vocabulary.camp` に宣言されています。",
            example: "when merchant.tagz has \"ama-toku-4\"",
            fix_en: "Use the field the help suggests: `merchant.tags`.",
            fix_ja: "ヘルプが示す項目に直します: `merchant.tags`。",
        },
        Code::E0202 => Page {
            summary_en: "a value the enumeration does not have",
            summary_ja: "列挙にない値",
            means_en: "Methods, channels, terminals, apps and item categories are enumerations: a campaign may name only their listed values, so that a typo cannot silently match nothing.",
            means_ja: "支払い手段・チャネル・端末・アプリ・商品カテゴリは列挙です。打ち間違いが黙って何にも一致しないよう、一覧にある値だけを書けます。",
            example: "award 10% where method == paypay_balanse",
            fix_en: "Use the value the help suggests: `paypay_balance`. The values are listed in `stdlib/vocabulary.camp`.",
            fix_ja: "ヘルプが示す値に直します: `paypay_balance`。値の一覧は `stdlib/vocabulary.camp` にあります。",
        },
        Code::E0203 => Page {
            summary_en: "values of kinds that do not go together",
            summary_ja: "組み合わせられない種類の値",
            means_en: "Every value has a kind and a unit: money (with its currency), points, rates, counts, times, text. Money compared with a count, or a rate added to money, has no meaning.",
            means_ja: "値には種類と単位があります: 金額 (通貨付き)、ポイント、率、数、日時、文字列。金額と数の比較や、率と金額の足し算には意味がありません。",
            example: "when amount >= 200",
            fix_en: "Give the amount its currency: `when amount >= 200 JPY`.",
            fix_ja: "金額に通貨を付けます: `when amount >= 200 JPY`。",
        },
        Code::E0204 => Page {
            summary_en: "money in two currencies",
            summary_ja: "二つの通貨の金額",
            means_en: "Money is compared or added only within one currency; Camp never converts between currencies.",
            means_ja: "金額の比較や計算は同じ通貨どうしでだけ行います。Camp は通貨を換算しません。",
            example: "when amount >= 10 USD",
            fix_en: "Write the amount in the payment's currency: `when amount >= 1500 JPY`.",
            fix_ja: "支払いの通貨で書きます: `when amount >= 1500 JPY`。",
        },
        Code::E0205 => Page {
            summary_en: "a name that is defined nowhere",
            summary_ja: "どこにも定義されていない名前",
            means_en: "A name is neither a field nor a `let`, `table`, `basis` or `counter` of this campaign. Definitions belong to one campaign.",
            means_ja: "名前が項目でも、このキャンペーンの `let`・`table`・`basis`・`counter` でもありません。定義はキャンペーンごとです。",
            example: "let big = amount >= 5000 JPY\nwhen bgi",
            fix_en: "Use the defined name (`when big`), or define the name in this campaign.",
            fix_ja: "定義済みの名前を使う (`when big`) か、このキャンペーンで定義します。",
        },
        Code::E0206 => Page {
            summary_en: "a value of the wrong kind for where it stands",
            summary_ja: "その位置に合わない種類の値",
            means_en: "Some places take one kind of value: conditions are yes/no, an award is a rate or points, a cap is points, `in` takes a list.",
            means_ja: "位置によって書ける値の種類が決まっています: 条件は真偽、付与は率かポイント、上限はポイント、`in` の右はリストです。",
            example: "when amount",
            fix_en: "Write a condition: `when amount >= 1000 JPY`.",
            fix_ja: "条件の形にします: `when amount >= 1000 JPY`。",
        },
        Code::E0207 => Page {
            summary_en: "a name or key defined twice",
            summary_ja: "名前・キーの二重定義",
            means_en: "Two definitions in one campaign share a name, or a table lists one key twice: which one applies would be unclear.",
            means_ja: "一つのキャンペーンに同じ名前の定義が二つあるか、表に同じキーが二度あります。どちらが使われるか曖昧になります。",
            example: "let big = amount >= 5000 JPY\nlet big = amount >= 10000 JPY\nwhen big",
            fix_en: "Rename or remove one of them.",
            fix_ja: "どちらかの名前を変えるか、消します。",
        },
        Code::E0208 => Page {
            summary_en: "a tender field read for the whole payment",
            summary_ja: "支払い手段の項目を支払い全体で読んでいる",
            means_en: "A payment can be split over tenders (balance and a voucher, say). `method` and `installments` belong to one tender, so they are read in a `where` clause, which picks the tenders that are the basis.",
            means_ja: "一つの支払いは複数の支払い手段に分かれることがあります (残高と商品券など)。`method` と `installments` は個々の支払い手段の項目なので、対象の支払い手段を選ぶ `where` の中で読みます。",
            example: "when method == paypay_balance",
            fix_en: "Move the test to the award: `award 10% where method == paypay_balance`.",
            fix_ja: "付与の `where` に移します: `award 10% where method == paypay_balance`。",
        },
        Code::E0209 => Page {
            summary_en: "a definition that depends on itself",
            summary_ja: "自分自身に依存する定義",
            means_en: "Camp programs always finish: a `let`, `table`, `basis` or `counter` may not be defined in terms of itself, directly or through others.",
            means_ja: "Camp のプログラムは必ず終わります。`let`・`table`・`basis`・`counter` を、直接にも間接にも自分自身で定義することはできません。",
            example: "let a = b and amount >= 100 JPY\nlet b = a\nwhen a",
            fix_en: "Define each name from fields, counters and names defined without it.",
            fix_ja: "それぞれの名前を、項目・カウンター・それに依存しない名前から定義します。",
        },
        Code::E0210 => Page {
            summary_en: "`last month` over something not kept per month",
            summary_ja: "月ごとでない値への `last month`",
            means_en: "`X last month` reads X for the count period before the payment's application window, which needs X to depend on a counter kept `per month`.",
            means_ja: "`X last month` は支払いの適用期間の前のカウント期間の X を読みます。そのため X は `per month` のカウンターに依存している必要があります。",
            example: "let big = amount >= 5000 JPY\nwhen big last month",
            fix_en: "Declare a monthly counter and read it: `counter spent = sum amount per month` then `when spent last month >= 100000 JPY`.",
            fix_ja: "月ごとのカウンターを宣言して読みます: `counter spent = sum amount per month` と `when spent last month >= 100000 JPY`。",
        },
        Code::E0211 => Page {
            summary_en: "a function called with the wrong number of values",
            summary_ja: "関数の引数の数が違う",
            means_en: "`min` and `max` take two values of one kind; `month_start` takes one time.",
            means_ja: "`min` と `max` は同じ種類の値を二つ、`month_start` は日時を一つ取ります。",
            example: "award 10% of first 10000 JPY of amount up to min(500)/payment",
            fix_en: "Pass the right number of values: `min(500, 1000)`.",
            fix_ja: "正しい数の引数を渡します: `min(500, 1000)`。",
        },
        Code::E0301 => Page {
            summary_en: "a required line is missing",
            summary_ja: "必須の行がない",
            means_en: "Every campaign states its `title`, its `period`, its point `unit` and what it `award`s.",
            means_ja: "どのキャンペーンにも `title`・`period`・ポイントの `unit`・`award` が必要です。",
            example: "campaign example {\n  title \"example\"\n  unit paypay_point = 1 JPY\n  award 1%\n  stack independent\n}",
            fix_en: "Add the missing line, for example `period 2026-02-01 to 2026-02-28 in Asia/Tokyo` (`period from 2024-01-01` for no end).",
            fix_ja: "不足している行を追加します。例: `period 2026-02-01 to 2026-02-28 in Asia/Tokyo` (終わりがなければ `period from 2024-01-01`)。",
        },
        Code::E0302 => Page {
            summary_en: "a period that ends before it starts",
            summary_ja: "始まる前に終わる期間",
            means_en: "The end of the period comes before its start, so no payment could ever fall inside it.",
            means_ja: "期間の終わりが始まりより前なので、期間内の支払いはありえません。",
            example: "campaign example {\n  title \"example\"\n  period 2026-03-01 to 2026-02-01 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n  award 1%\n  stack independent\n}",
            fix_en: "Swap the ends or fix the year.",
            fix_ja: "始まりと終わりを入れ替えるか、年を直します。",
        },
        Code::E0303 => Page {
            summary_en: "conditions that can never all hold",
            summary_ja: "同時に満たせない条件",
            means_en: "Two conditions on one field contradict each other, so the campaign would never award anything.",
            means_ja: "同じ項目への二つの条件が矛盾していて、キャンペーンが何も付与しません。",
            example: "when channel == online\nwhen channel == in_store",
            fix_en: "Keep the condition the terms state, or join alternatives with `or`: `when channel == online or channel == in_store`.",
            fix_ja: "規約どおりの条件だけを残すか、`or` でつなぎます: `when channel == online or channel == in_store`。",
        },
        Code::E0304 => Page {
            summary_en: "two campaigns can award one payment with no stacking rule",
            summary_ja: "併用ルールなしに同じ支払いへ付与しうる二つのキャンペーン",
            means_en: "The periods overlap and nothing in the conditions keeps the two campaigns apart, yet at least one of them does not say how it stacks. Whether their awards add up or only the larger applies must be decided in the terms, not by accident.",
            means_ja: "期間が重なり、条件でも分かれていないのに、少なくとも一方が併用の扱いを宣言していません。合算か最大のみ適用かは、偶然でなく規約で決めます。",
            example: "campaign first {\n  title \"first\"\n  period 2026-02-01 to 2026-02-28 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n  award 1%\n}\n\ncampaign second {\n  title \"second\"\n  period 2026-02-01 to 2026-02-28 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n  award 2%\n  stack independent\n}",
            fix_en: "Add `stack independent` (awards add up) or `stack largest in GROUP priority N` (only the largest applies) to the campaign.",
            fix_ja: "キャンペーンに `stack independent` (合算) か `stack largest in グループ名 priority N` (最大のみ適用) を追加します。",
        },
        Code::E0305 => Page {
            summary_en: "a campaign id used twice",
            summary_ja: "キャンペーン ID の重複",
            means_en: "Campaign ids name ledger entries; two campaigns with one id would mix their awards.",
            means_ja: "キャンペーン ID は台帳の記録に使われます。同じ ID の二つのキャンペーンは付与が混ざります。",
            example: "campaign twice {\n  title \"one\"\n  period 2026-02-01 to 2026-02-28 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n  award 1%\n  stack independent\n}\n\ncampaign twice {\n  title \"two\"\n  period 2026-03-01 to 2026-03-31 in Asia/Tokyo\n  unit paypay_point = 1 JPY\n  award 1%\n  stack independent\n}",
            fix_en: "Give each campaign its own id, for example with the round: `ama-toku-4`, `ama-toku-5`.",
            fix_ja: "各キャンペーンに別の ID を付けます。例: `ama-toku-4`、`ama-toku-5`。",
        },
        Code::E0306 => Page {
            summary_en: "a line that may appear once appears twice",
            summary_ja: "一度だけ書ける行が二度ある",
            means_en: "`title`, `sponsor`, `period`, `unit`, `entry required`, `award`, `rounding`, `refund` and each kind of `stack` line may be given once per campaign.",
            means_ja: "`title`・`sponsor`・`period`・`unit`・`entry required`・`award`・`rounding`・`refund` と各種の `stack` 行は一つのキャンペーンに一度だけ書けます。",
            example: "award 10%\naward 5%",
            fix_en: "Keep one. To award different rates, use a table or `if`: `award if weekday in [sat, sun] then 10% else 5%`.",
            fix_ja: "一つだけ残します。率を変えるには表か `if` を使います: `award if weekday in [sat, sun] then 10% else 5%`。",
        },
        Code::E0307 => Page {
            summary_en: "two caps over the same scope",
            summary_ja: "同じ範囲の上限が二つ",
            means_en: "An award has at most one cap per payment, one per calendar month and one per period.",
            means_ja: "上限は支払いごと・暦月ごと・期間ごとにそれぞれ一つまでです。",
            example: "award 10% up to 1000/payment, 500/payment",
            fix_en: "Keep the cap the terms state: `award 10% up to 1000/payment`.",
            fix_ja: "規約どおりの上限だけを残します: `award 10% up to 1000/payment`。",
        },
        Code::E0308 => Page {
            summary_en: "a value that must be above zero is not",
            summary_ja: "0 より大きいはずの値が 0 以下",
            means_en: "Caps, the counted part of a payment (`first N JPY of`) and what a point is worth must all be above zero.",
            means_ja: "上限、対象金額 (`first N JPY of`)、ポイントの価値は 0 より大きくなければなりません。",
            example: "award 10% up to 0/payment",
            fix_en: "Write the positive value from the terms; to stop a campaign, end its period instead.",
            fix_ja: "規約の正の値を書きます。キャンペーンを止めるには期間を終わらせます。",
        },
        Code::E0309 => Page {
            summary_en: "a rate outside 0% to 100% (warning)",
            summary_ja: "0% から 100% の範囲外の率 (警告)",
            means_en: "An award rate above 100% gives back more than was paid; it is usually a misplaced decimal point.",
            means_ja: "100% を超える還元率は支払額より多く還元します。多くは小数点の位置の誤りです。",
            example: "award 150%",
            fix_en: "Check the rate in the terms: `award 1.5%`.",
            fix_ja: "規約の率を確認します: `award 1.5%`。",
        },
        Code::E0310 => Page {
            summary_en: "two grant lines apply to the same payments",
            summary_ja: "二つの付与日指定が同じ支払いに当てはまる",
            means_en: "Each payment must have exactly one grant date; grant lines for different payment dates are limited with `for payments from ... to ...`.",
            means_ja: "各支払いの付与日は一つに決まる必要があります。支払日で付与日を変えるときは `for payments from ... to ...` で区切ります。",
            example: "grant on 20th of next month\ngrant 30 days after payment",
            fix_en: "Limit the lines: `grant on 20th of next month for payments to 2019-11-30` and `grant 30 days after payment for payments from 2019-12-01`.",
            fix_ja: "区切ります: `grant on 20th of next month for payments to 2019-11-30` と `grant 30 days after payment for payments from 2019-12-01`。",
        },
        Code::E0311 => Page {
            summary_en: "a stacking rule that does not hold together",
            summary_ja: "成り立たない併用ルール",
            means_en: "Members of a largest-applies group need distinct priorities so that a tie is decided; a campaign is either independent or in a group; a combined cap is a share between 0% and 100%.",
            means_ja: "最大のみ適用のグループでは同額時のために優先順位を別々にします。キャンペーンは独立かグループのどちらかです。合算上限は 0% から 100% の割合です。",
            example: "stack combined up to 150% of amount, cut first",
            fix_en: "State a share of the payment: `stack combined up to 66.5% of amount, cut first`.",
            fix_ja: "支払いに対する割合を書きます: `stack combined up to 66.5% of amount, cut first`。",
        },
        Code::E0312 => Page {
            summary_en: "a definition that nothing uses (warning)",
            summary_ja: "使われていない定義 (警告)",
            means_en: "A `let`, `table`, `basis` or `counter` is never read: either it is left over, or a condition that should use it is missing.",
            means_ja: "`let`・`table`・`basis`・`counter` がどこでも読まれていません。残骸か、それを使うはずの条件が抜けています。",
            example: "let big = amount >= 5000 JPY",
            fix_en: "Use it (`when big`) or remove it.",
            fix_ja: "使う (`when big`) か消します。",
        },
        Code::E0313 => Page {
            summary_en: "a table without an `else` row (warning)",
            summary_ja: "`else` 行のない表 (警告)",
            means_en: "A key not listed in the table gives no value, and an award that needs the value gives nothing. Say what other keys mean.",
            means_ja: "表にないキーには値がなく、その値を使う付与は何も付与しません。その他のキーの意味を書きます。",
            example: "table rate by merchant.class {\n\"small\": 5%\n}\naward rate",
            fix_en: "Add an `else` row: `else: 0%`.",
            fix_ja: "`else` 行を追加します: `else: 0%`。",
        },
    }
}
