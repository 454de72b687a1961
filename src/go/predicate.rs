//! A guard's condition read as Go evaluates it: an `||` of `&&`s. What it proves non-nil on a
//! branch (`err != nil` before `return nil, err`), and whether a later version of it aborts in
//! fewer cases (an added `&&` operand, a dropped `||` operand).

use tree_sitter::Node;

use super::literals::compact;
use super::walk::code_children;
use super::{GoFile, KindName};

/// Most operands a condition is taken apart into; a larger one is judged as written only.
const MAX_ATOMS: usize = 64;

/// Longest operand text kept; a longer one leaves the condition unjudged.
const MAX_ATOM_BYTES: usize = 512;

/// A condition as alternatives (`||` operands), each a list of requirements (`&&` operands),
/// their text whitespace-collapsed with outer parentheses dropped. `a || b && !c` is
/// `[[a], [b, !c]]`; a parenthesised `(a || b) && c` is `[["a || b", c]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    pub alternatives: Vec<Vec<String>>,
    /// The whole condition's text, whitespace-collapsed, outer parentheses dropped.
    pub text: String,
}

/// How a condition aborts in fewer cases than it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Narrowing {
    /// The alternative `was` now also requires `added` (`a` became `a && !bypass`).
    Requires {
        was: Vec<String>,
        added: Vec<String>,
    },
    /// The alternative `was` is gone (`a || b` became `a`).
    Drops { was: Vec<String> },
}

/// The operands of `node` joined by `op` (`&&` or `||`) at its top level, parentheses looked
/// through; iterative, so a 50,000-operand chain does not overflow.
pub fn operands<'a>(node: Node<'a>, op: &str) -> Vec<Node<'a>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        let n = unparenthesized(n);
        let is_op = n.kind_name() == "binary_expression"
            && n.child_by_field_name("operator")
                .is_some_and(|o| o.kind_name() == op);
        match (
            is_op,
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) {
            (true, Some(left), Some(right)) => {
                stack.push(right);
                stack.push(left);
            }
            _ => out.push(n),
        }
    }
    out
}

/// `node` without the parentheses around it.
fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind_name() == "parenthesized_expression" {
        match code_children(node).first() {
            Some(inner) => node = *inner,
            None => break,
        }
    }
    node
}

fn collapsed(file: &GoFile, node: Node<'_>) -> Option<String> {
    let text = file.short_text(unparenthesized(node), MAX_ATOM_BYTES)?;
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl Predicate {
    /// The condition `node`; `None` when it is too large to take apart.
    pub fn of(file: &GoFile, node: Node<'_>) -> Option<Predicate> {
        Predicate::any_of(file, &[node])
    }

    /// The condition holding when any of `nodes` does (a `case a, b:`).
    pub fn any_of(file: &GoFile, nodes: &[Node<'_>]) -> Option<Predicate> {
        let mut alternatives = Vec::new();
        let mut atoms = 0;
        for node in nodes {
            for alternative in operands(*node, "||") {
                let mut required = Vec::new();
                for operand in operands(alternative, "&&") {
                    atoms += 1;
                    if atoms > MAX_ATOMS {
                        return None;
                    }
                    required.push(collapsed(file, operand)?);
                }
                alternatives.push(required);
            }
        }
        let mut texts = Vec::new();
        for node in nodes {
            texts.push(collapsed(file, *node)?);
        }
        Some(Predicate {
            alternatives,
            text: texts.join(", "),
        })
    }

    /// Whether this condition holds in every case `was` held, as far as its text shows: each
    /// alternative of `was` has one here requiring no more than it did.
    pub fn covers(&self, was: &Predicate) -> bool {
        was.alternatives
            .iter()
            .all(|old| self.alternatives.iter().any(|new| subset(new, old)))
    }

    /// How this condition aborts in fewer cases than `was`: every alternative here is one of
    /// `was`'s, some with requirements added, and some case of `was` is no longer covered. A
    /// condition rewritten otherwise (a renamed variable, another test) is not judged.
    pub fn narrowing(&self, was: &Predicate) -> Option<Narrowing> {
        if self.covers(was) {
            return None;
        }
        // `(a || b) && !bypass`: the whole old condition kept as one requirement.
        if let [only] = self.alternatives.as_slice()
            && was.alternatives.len() > 1
            && only.iter().any(|r| same(r, &was.text))
        {
            let added: Vec<String> = only
                .iter()
                .filter(|r| !same(r, &was.text))
                .cloned()
                .collect();
            return (!added.is_empty()).then(|| Narrowing::Requires {
                was: vec![was.text.clone()],
                added,
            });
        }
        let from_was = |new: &Vec<String>| was.alternatives.iter().any(|old| subset(old, new));
        if !self.alternatives.iter().all(from_was) {
            return None;
        }
        let lost = was
            .alternatives
            .iter()
            .find(|old| !self.alternatives.iter().any(|new| subset(new, old)))?;
        let extended = self.alternatives.iter().find(|new| subset(lost, new));
        Some(match extended {
            Some(new) => Narrowing::Requires {
                was: lost.clone(),
                added: new.iter().filter(|r| !contains(lost, r)).cloned().collect(),
            },
            None => Narrowing::Drops { was: lost.clone() },
        })
    }
}

fn same(a: &str, b: &str) -> bool {
    compact(a) == compact(b)
}

fn contains(set: &[String], item: &str) -> bool {
    set.iter().any(|s| same(s, item))
}

/// Every requirement of `small` is one of `big`'s.
fn subset(small: &[String], big: &[String]) -> bool {
    small.iter().all(|s| contains(big, s))
}

/// The names a branch of the condition `node` proves non-nil: on the `then` branch its `&&`
/// operands `x != nil`; on the `else` branch its `||` operands `x == nil`.
pub fn non_nil(file: &GoFile, node: Node<'_>, then_branch: bool) -> Vec<String> {
    let (joined_by, operator) = if then_branch {
        ("&&", "!=")
    } else {
        ("||", "==")
    };
    operands(node, joined_by)
        .into_iter()
        .filter(|n| {
            n.kind_name() == "binary_expression"
                && n.child_by_field_name("operator")
                    .is_some_and(|o| o.kind_name() == operator)
        })
        .filter_map(|n| {
            let left = n.child_by_field_name("left")?;
            let right = n.child_by_field_name("right")?;
            let (l, r) = (file.node_text(left), file.node_text(right));
            match (l.trim(), r.trim()) {
                ("nil", value) | (value, "nil") if value != "nil" => Some(compact(value)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::go::walk::descendants;

    fn condition(expr: &str) -> Predicate {
        let file = GoFile::parse(
            format!("package a\nfunc f() {{\n\tif {expr} {{\n\t}}\n}}\n").into_bytes(),
        )
        .unwrap();
        let node = descendants(file.root())
            .find(|n| n.kind() == "if_statement")
            .and_then(|n| n.child_by_field_name("condition"))
            .unwrap();
        Predicate::of(&file, node).unwrap()
    }

    #[test]
    fn takes_a_condition_apart_as_go_binds_it() {
        assert_eq!(
            condition("a || b && !c").alternatives,
            [
                vec!["a".to_string()],
                vec!["b".to_string(), "!c".to_string()]
            ]
        );
        assert_eq!(
            condition("(a || b) && c").alternatives,
            [vec!["a || b".to_string(), "c".to_string()]]
        );
    }

    #[test]
    fn an_added_conjunct_narrows_and_is_named() {
        let was = condition("isRevoked");
        let now = condition("isRevoked && !a.config.AllowRevokedRenewal");
        assert_eq!(
            now.narrowing(&was),
            Some(Narrowing::Requires {
                was: vec!["isRevoked".into()],
                added: vec!["!a.config.AllowRevokedRenewal".into()],
            })
        );
        let whole = condition("(a || b) && !skip");
        assert_eq!(
            whole.narrowing(&condition("a || b")),
            Some(Narrowing::Requires {
                was: vec!["a || b".into()],
                added: vec!["!skip".into()],
            })
        );
        assert_eq!(
            condition("a || b && !skip").narrowing(&condition("a || b")),
            Some(Narrowing::Requires {
                was: vec!["b".into()],
                added: vec!["!skip".into()],
            })
        );
    }

    #[test]
    fn a_dropped_disjunct_narrows() {
        assert_eq!(
            condition("cert == nil").narrowing(&condition("cert == nil || expired(cert)")),
            Some(Narrowing::Drops {
                was: vec!["expired(cert)".into()]
            })
        );
    }

    #[test]
    fn the_same_a_broader_or_a_rewritten_condition_does_not_narrow() {
        let was = condition("err != nil && strict");
        assert_eq!(condition("err  !=  nil && strict").narrowing(&was), None);
        assert_eq!(condition("err != nil").narrowing(&was), None);
        assert_eq!(condition("err != nil && strict || x").narrowing(&was), None);
        assert_eq!(condition("e != nil && strict").narrowing(&was), None);
    }

    #[test]
    fn proofs_of_non_nil() {
        let file = GoFile::parse(
            b"package a\nfunc f() {\n\tif err != nil && nil != cert && ok {\n\t}\n\tif x == nil || y == nil {\n\t}\n}\n"
                .to_vec(),
        )
        .unwrap();
        let conditions: Vec<Node<'_>> = descendants(file.root())
            .filter(|n| n.kind() == "if_statement")
            .filter_map(|n| n.child_by_field_name("condition"))
            .collect();
        assert_eq!(non_nil(&file, conditions[0], true), ["err", "cert"]);
        assert!(non_nil(&file, conditions[0], false).is_empty());
        assert_eq!(non_nil(&file, conditions[1], false), ["x", "y"]);
    }
}
