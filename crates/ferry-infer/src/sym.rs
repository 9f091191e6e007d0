//! Symbolic dimensions: integer polynomials over named symbols.
//!
//! A dimension is `Dim::Unknown` or an [`Expr`]: a sum of terms `coefficient * s1 * s2 * ...`
//! with integer coefficients, kept in a canonical form so that equal expressions compare equal.
//! The arithmetic kept exactly is `+`, `-`, `*` and division by a constant that divides every
//! coefficient. Anything else (a floor division that does not divide, a max, a division by a
//! symbol) becomes an opaque symbol named by its own text, e.g. `floor((H+1)/2)`: still equal
//! to itself wherever it is computed again from the same inputs, and written to files as that
//! `dim_param` string.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A polynomial over symbols: a constant plus terms keyed by their sorted list of symbols (never
/// empty; zero coefficients are never stored). The constant sits apart so that a plain number,
/// by far the most common dimension, allocates nothing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Expr {
    konst: i64,
    terms: BTreeMap<Vec<Arc<str>>, i64>,
}

/// One dimension: an expression, or nothing known.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Dim {
    Expr(Expr),
    Unknown,
}

impl Expr {
    pub fn constant(c: i64) -> Expr {
        Expr { konst: c, terms: BTreeMap::new() }
    }

    pub fn symbol(name: &str) -> Expr {
        let mut terms = BTreeMap::new();
        terms.insert(vec![Arc::from(name)], 1);
        Expr { konst: 0, terms }
    }

    /// The value, when the expression has no symbols.
    pub fn as_const(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.konst)
    }

    fn add_term(&mut self, key: Vec<Arc<str>>, coef: i64) -> Option<()> {
        if key.is_empty() {
            self.konst = self.konst.checked_add(coef)?;
            return Some(());
        }
        let e = self.terms.entry(key.clone()).or_insert(0);
        *e = e.checked_add(coef)?;
        if *e == 0 {
            self.terms.remove(&key);
        }
        Some(())
    }

    /// All terms, the constant included (as the empty monomial) when it is not zero.
    fn all_terms(&self) -> impl Iterator<Item = (&[Arc<str>], i64)> {
        let k = (self.konst != 0).then_some((&[][..], self.konst));
        self.terms.iter().map(|(k, &c)| (k.as_slice(), c)).chain(k)
    }

    /// `None` on integer overflow.
    pub fn add(&self, other: &Expr) -> Option<Expr> {
        let mut out = self.clone();
        out.konst = out.konst.checked_add(other.konst)?;
        for (k, &c) in &other.terms {
            out.add_term(k.clone(), c)?;
        }
        Some(out)
    }

    pub fn neg(&self) -> Option<Expr> {
        let mut out = Expr::constant(self.konst.checked_neg()?);
        for (k, &c) in &self.terms {
            out.terms.insert(k.clone(), c.checked_neg()?);
        }
        Some(out)
    }

    pub fn sub(&self, other: &Expr) -> Option<Expr> {
        self.add(&other.neg()?)
    }

    pub fn mul(&self, other: &Expr) -> Option<Expr> {
        if let (Some(a), Some(b)) = (self.as_const(), other.as_const()) {
            return a.checked_mul(b).map(Expr::constant);
        }
        let mut out = Expr::default();
        for (ka, ca) in self.all_terms() {
            for (kb, cb) in other.all_terms() {
                let mut key: Vec<Arc<str>> = ka.iter().chain(kb).cloned().collect();
                key.sort();
                out.add_term(key, ca.checked_mul(cb)?)?;
            }
        }
        Some(out)
    }

    /// Exact division by a constant: `Some` only if `d` divides every coefficient.
    pub fn div_exact(&self, d: i64) -> Option<Expr> {
        if d == 0 || self.konst % d != 0 || self.terms.values().any(|c| c % d != 0) {
            return None;
        }
        let mut out = Expr::constant(self.konst / d);
        for (k, &c) in &self.terms {
            out.terms.insert(k.clone(), c / d);
        }
        Some(out)
    }

    /// Floor division by a positive constant: exact when it divides, computed when constant, and
    /// an opaque symbol otherwise.
    pub fn floor_div(&self, d: i64) -> Option<Expr> {
        if d <= 0 {
            return None;
        }
        if let Some(c) = self.as_const() {
            return Some(Expr::constant(c.div_euclid(d)));
        }
        self.div_exact(d).or_else(|| Some(Expr::symbol(&format!("floor(({self})/{d})"))))
    }

    /// Ceiling division by a positive constant, like [`Expr::floor_div`].
    pub fn ceil_div(&self, d: i64) -> Option<Expr> {
        if d <= 0 {
            return None;
        }
        if let Some(c) = self.as_const() {
            return Some(Expr::constant(-((-c).div_euclid(d))));
        }
        self.div_exact(d).or_else(|| Some(Expr::symbol(&format!("ceil(({self})/{d})"))))
    }

    /// Symbols appearing in the expression.
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.terms.keys().flatten().map(|s| &**s)
    }

    /// Parses the `dim_param` spelling: `N`, `batch*8`, `2*seq+1`, `(a+b)*c`. A string that is not
    /// such an expression (`batch size`, `?`) is one opaque symbol.
    pub fn parse(text: &str) -> Expr {
        parse::expr(text).unwrap_or_else(|| Expr::symbol(text))
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return write!(f, "{}", self.konst);
        }
        // Highest degree first, constant last: `2*N*S + N + 1` reads naturally.
        let mut terms: Vec<_> = self.all_terms().collect();
        terms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        for (i, &(syms, c)) in terms.iter().enumerate() {
            let (neg, mag) = (c < 0, c.unsigned_abs());
            if i == 0 {
                if neg {
                    f.write_str("-")?;
                }
            } else {
                f.write_str(if neg { "-" } else { "+" })?;
            }
            if syms.is_empty() {
                write!(f, "{mag}")?;
                continue;
            }
            if mag != 1 {
                write!(f, "{mag}*")?;
            }
            for (j, s) in syms.iter().enumerate() {
                if j > 0 {
                    f.write_str("*")?;
                }
                f.write_str(s)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl Dim {
    pub fn known(n: i64) -> Dim {
        Dim::Expr(Expr::constant(n))
    }

    pub fn symbol(name: &str) -> Dim {
        Dim::Expr(Expr::symbol(name))
    }

    pub fn as_const(&self) -> Option<i64> {
        match self {
            Dim::Expr(e) => e.as_const(),
            Dim::Unknown => None,
        }
    }

    pub fn expr(&self) -> Option<&Expr> {
        match self {
            Dim::Expr(e) => Some(e),
            Dim::Unknown => None,
        }
    }

    fn lift(a: &Dim, b: &Dim, f: impl Fn(&Expr, &Expr) -> Option<Expr>) -> Dim {
        match (a, b) {
            (Dim::Expr(x), Dim::Expr(y)) => f(x, y).map_or(Dim::Unknown, Dim::Expr),
            _ => Dim::Unknown,
        }
    }

    pub fn add(&self, o: &Dim) -> Dim {
        Dim::lift(self, o, Expr::add)
    }

    pub fn sub(&self, o: &Dim) -> Dim {
        Dim::lift(self, o, Expr::sub)
    }

    pub fn mul(&self, o: &Dim) -> Dim {
        Dim::lift(self, o, Expr::mul)
    }

    pub fn floor_div(&self, d: i64) -> Dim {
        self.expr().and_then(|e| e.floor_div(d)).map_or(Dim::Unknown, Dim::Expr)
    }

    pub fn ceil_div(&self, d: i64) -> Dim {
        self.expr().and_then(|e| e.ceil_div(d)).map_or(Dim::Unknown, Dim::Expr)
    }

    /// Division by another dimension when both are constants, or exactly by a constant.
    pub fn div(&self, o: &Dim) -> Dim {
        match (self, o.as_const()) {
            (Dim::Expr(e), Some(d)) if d != 0 => e
                .div_exact(d)
                .or_else(|| e.as_const().map(|c| Expr::constant(c.div_euclid(d))))
                .map_or(Dim::Unknown, Dim::Expr),
            _ => Dim::Unknown,
        }
    }

    /// What two facts about the same dimension say together: equal ones stay; a known number
    /// wins over a symbol (it is more specific); disagreeing numbers are a conflict (`Err`).
    pub fn unify(&self, o: &Dim) -> Result<Dim, (i64, i64)> {
        match (self, o) {
            (Dim::Unknown, x) | (x, Dim::Unknown) => Ok(x.clone()),
            (a, b) if a == b => Ok(a.clone()),
            (a, b) => match (a.as_const(), b.as_const()) {
                (Some(x), Some(y)) => Err((x, y)),
                (Some(_), None) => Ok(a.clone()),
                (None, Some(_)) => Ok(b.clone()),
                (None, None) => Ok(a.clone()),
            },
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Expr(e) => write!(f, "{e}"),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

mod parse {
    //! A small recursive-descent parser for `dim_param` expressions.
    use super::Expr;

    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }

    pub fn expr(text: &str) -> Option<Expr> {
        let mut p = P { s: text.as_bytes(), i: 0 };
        let e = p.sum()?;
        p.ws();
        (p.i == p.s.len()).then_some(e)
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }

        fn eat(&mut self, c: u8) -> bool {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        fn sum(&mut self) -> Option<Expr> {
            let mut e = self.product()?;
            loop {
                if self.eat(b'+') {
                    e = e.add(&self.product()?)?;
                } else if self.eat(b'-') {
                    e = e.sub(&self.product()?)?;
                } else {
                    return Some(e);
                }
            }
        }

        fn product(&mut self) -> Option<Expr> {
            let mut e = self.atom()?;
            while self.eat(b'*') {
                e = e.mul(&self.atom()?)?;
            }
            Some(e)
        }

        fn atom(&mut self) -> Option<Expr> {
            self.ws();
            if self.eat(b'(') {
                let e = self.sum()?;
                return self.eat(b')').then_some(e);
            }
            if self.eat(b'-') {
                return self.atom()?.neg();
            }
            let start = self.i;
            let c = *self.s.get(self.i)?;
            if c.is_ascii_digit() {
                while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                return text.parse().ok().map(Expr::constant);
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':'))
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                return Some(Expr::symbol(text));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_canonical() {
        let n = Expr::symbol("N");
        let s = Expr::symbol("S");
        let e = n.mul(&s).unwrap().add(&n).unwrap().add(&Expr::constant(1)).unwrap();
        assert_eq!(e.to_string(), "N*S+N+1");
        assert_eq!(Expr::parse("N*S + N + 1"), e);
        assert_eq!(Expr::parse("S*N+1+N"), e);
        assert_eq!(Expr::parse("batch*8").to_string(), "8*batch");
        assert_eq!(Expr::parse("seq+1").sub(&Expr::constant(1)).unwrap(), Expr::symbol("seq"));
        assert_eq!(Expr::parse("2*N").div_exact(2).unwrap(), n);
        assert_eq!(Expr::parse("N").floor_div(2).unwrap().to_string(), "floor((N)/2)");
        assert_eq!(Expr::parse("N").floor_div(2), Expr::parse("N").floor_div(2));
        assert_eq!(Expr::parse("batch size"), Expr::symbol("batch size"));
        assert_eq!(Expr::constant(7).ceil_div(2).unwrap().as_const(), Some(4));
        assert_eq!(Expr::parse("N-N").as_const(), Some(0));
        assert_eq!(Dim::known(3).unify(&Dim::symbol("N")), Ok(Dim::known(3)));
        assert_eq!(Dim::known(3).unify(&Dim::known(4)), Err((3, 4)));
        assert_eq!(Expr::parse("-N+3").to_string(), "-N+3");
    }
}
