//! An evaluation scope: a context and the decision token verified for it.
//! A context knows nothing of tokens; upstream's decisions join it here, at
//! evaluation, and only after the token's binding to the context was
//! checked ([`Scope::with_token`]), so that a token never answers for
//! another context. Evaluations of a scope take the time a carried token
//! expires by.

use std::sync::Arc;

use serde_json::Value;

use crate::all_flags::{AllFlagsOptions, AllFlagsState};
use crate::context::{Context, ContextError};
use crate::eval::Evaluation;
use crate::reason::{Detail, ErrorKind};
use crate::snapshot::Snapshot;
use crate::token::{self, Token, TokenError, TokenErrorCode, TokenStatus};
use crate::variation::{apply_default, ValueType};

/// A context, with the decision token verified for it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    context: Context,
    token: Option<Arc<Token>>,
}

impl Scope {
    /// A context with no token: its evaluations are the snapshot's own.
    pub fn new(context: Context) -> Scope {
        Scope {
            context,
            token: None,
        }
    }

    /// A context with upstream's decisions: evaluating a flag the token
    /// decides answers upstream's answer, with `"propagated": true`.
    /// Refused when the token was issued for other kinds or keys.
    pub fn with_token(context: Context, token: Token) -> Result<Scope, TokenError> {
        if !token.binds(&context) {
            return Err(TokenError::wrong_context());
        }
        Ok(Scope {
            context,
            token: Some(Arc::new(token)),
        })
    }

    /// Joins the decision token in `header` (a token, or a W3C `baggage`
    /// header with a `flagcore` member) to a parsed context when it verifies
    /// with `signing_key` at `now_ms` and was issued for no longer than
    /// `max_lifetime_ms` ([`token::DEFAULT_MAX_LIFETIME_MS`] when `None`).
    /// Answers the scope (without the token when it was refused, or the
    /// context was) and what became of the token.
    pub fn attach(
        parsed: Result<Context, ContextError>,
        header: Option<&str>,
        signing_key: &[u8],
        now_ms: u64,
        max_lifetime_ms: Option<u64>,
    ) -> (Result<Scope, ContextError>, TokenStatus) {
        let text = header.and_then(token::from_header);
        let (Ok(context), Some(text)) = (&parsed, text) else {
            return (parsed.map(Scope::new), TokenStatus::Absent);
        };
        let max_lifetime_ms = max_lifetime_ms.unwrap_or(token::DEFAULT_MAX_LIFETIME_MS);
        let attached =
            token::verify(text, signing_key, now_ms, max_lifetime_ms).and_then(|verified| {
                let status = TokenStatus::Applied {
                    snapshot_id: verified.snapshot_id().to_owned(),
                    flags: verified.len(),
                    issued_ms: verified.issued_ms(),
                    expires_ms: verified.expires_ms(),
                };
                Scope::with_token(context.clone(), verified).map(|scope| (scope, status))
            });
        match attached {
            Ok((scope, status)) => (Ok(scope), status),
            Err(error) => (parsed.map(Scope::new), TokenStatus::Refused(error)),
        }
    }

    /// The context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The decision token attached with [`Scope::with_token`].
    pub fn token(&self) -> Option<&Token> {
        self.token.as_deref()
    }
}

impl Snapshot {
    /// As [`Snapshot::evaluate`], at `now_ms` (milliseconds since the
    /// epoch): a decision token of the scope answers the flags it decides
    /// while it is unexpired, unless this snapshot switched the flag off
    /// (see [`Token`]'s `decide`); everything else is the snapshot's own
    /// evaluation. The one choice between a token and the snapshot, for
    /// single evaluations and for the tokens issued from a scope.
    #[inline(never)]
    pub fn evaluate_at<'a>(&'a self, flag_key: &str, scope: &Scope, now_ms: u64) -> Evaluation<'a> {
        let decided = scope.token().and_then(|t| t.decide(self, flag_key, now_ms));
        decided.unwrap_or_else(|| self.evaluate(flag_key, scope.context()))
    }

    /// A decision token holding `scope`'s answers of `flag_keys` (as
    /// [`Snapshot::evaluate_at`] gives them), signed with `signing_key`,
    /// valid for `ttl_ms` (at most [`token::MAX_TTL_MS`]) from `now_ms`. A
    /// context that was refused gets none (`TOKEN_INVALID_CONTEXT`). A
    /// scope carrying a token passes its decisions on, and the new token
    /// expires no later than that one (see [`crate::token`]).
    pub fn decision_token(
        &self,
        scope: Result<&Scope, &ContextError>,
        flag_keys: &[&str],
        signing_key: &[u8],
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<String, TokenError> {
        let Ok(scope) = scope else {
            return Err(TokenError::new(
                TokenErrorCode::InvalidContext,
                "the context is invalid",
            ));
        };
        token::issue(
            self,
            scope.context(),
            scope.token(),
            flag_keys,
            signing_key,
            now_ms,
            ttl_ms,
            |flag| self.evaluate_at(flag, scope, now_ms),
        )
    }

    /// As [`Snapshot::variation_detail`], at `now_ms`: a decision token of
    /// the scope applies (see [`Snapshot::evaluate_at`]).
    pub fn variation_detail_at<'a>(
        &'a self,
        flag_key: &str,
        scope: &Scope,
        default: &'a Value,
        value_type: ValueType,
        now_ms: u64,
    ) -> Detail<'a> {
        apply_default(
            self.evaluate_at(flag_key, scope, now_ms),
            default,
            value_type,
        )
    }

    /// As [`Snapshot::variation_detail_at`], for a context that may have
    /// been refused: an invalid one gives the default and
    /// `USER_NOT_SPECIFIED`, before the flag is even looked up, as
    /// LaunchDarkly's SDKs do.
    pub fn variation_detail_checked<'a>(
        &'a self,
        flag_key: &str,
        scope: Result<&Scope, &ContextError>,
        default: &'a Value,
        value_type: ValueType,
        now_ms: u64,
    ) -> Detail<'a> {
        match scope {
            Ok(scope) => self.variation_detail_at(flag_key, scope, default, value_type, now_ms),
            Err(_) => Detail::error(default, ErrorKind::UserNotSpecified),
        }
    }

    /// As [`Snapshot::all_flags_state`], at `now_ms`: a decision token of
    /// the scope answers the flags it decides, exactly as
    /// [`Snapshot::evaluate_at`] does, so that a client bootstrapped from
    /// this state agrees with the server's evaluations.
    pub fn all_flags_state_at(
        &self,
        scope: &Scope,
        options: AllFlagsOptions,
        now_ms: u64,
    ) -> AllFlagsState<'_> {
        self.all_flags(scope.context(), options, |flag| {
            scope
                .token()
                .and_then(|t| t.decide(self, &flag.key, now_ms))
        })
    }

    /// As [`Snapshot::all_flags_state_at`], for a context that may have been
    /// refused: an invalid one gives an empty, invalid state.
    pub fn all_flags_state_checked(
        &self,
        scope: Result<&Scope, &ContextError>,
        options: AllFlagsOptions,
        now_ms: u64,
    ) -> AllFlagsState<'_> {
        match scope {
            Ok(scope) => self.all_flags_state_at(scope, options, now_ms),
            Err(_) => AllFlagsState::invalid(options),
        }
    }
}
