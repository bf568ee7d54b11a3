"""The expr-lang grammar, as data for lark (LALR, context-free lexer like expr's own).

Precedence and associativity follow expr's parser (parser/operator/operator.go), loosest first:
`|` pipe, `or ||`, `and &&`, comparisons and `in matches contains startsWith endsWith` (with
`not` before the word ones), `..`, `+ -`, `* / %`, `** ^` (right), `??`, then postfix member,
index, slice and call. The ternary `c ? a : b` (and `c ?: b`) wraps a whole pipe expression.

Unary operators take their operand at their own precedence, as expr's Pratt parser does: `not`
(50) swallows `* / % ** ??` (`not a * b` is `not (a * b)`, `not a == b` is `(not a) == b`), unary
`-`/`+` (90) swallow `** ??` (`-2 ** 2` is `-(2 ** 2)`). In LR terms the operand extends as far as
it can: the grammar leaves these shift/reduce conflicts to lark's resolution by shift, and
tests/expr/test_grammar.py pins the exact set of conflicts. The same holds for the body of
`let x = v; body`, which extends to the end of the enclosing sequence.

The lexer callbacks in `_parser.py` reject what expr's lexer rejects: malformed numbers (the
NUMBER terminal also takes trailing letters so that `0b15` is one bad token, not two good ones),
invalid escapes and unclosed comments.
"""

from __future__ import annotations

# Builtins whose arguments are parsed as closures (parser.go, `predicates`).
PREDICATES = (
    "all",
    "none",
    "any",
    "one",
    "filter",
    "map",
    "count",
    "sum",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "groupBy",
    "sortBy",
    "reduce",
)

# A number as expr's lexer scans it (lexer/state.go, scanNumber): base prefix, digits and
# underscores, an optional fraction (not the first dot of `..`), an optional exponent.
NUMBER_PREFIX = (
    r"(?:0[xX][0-9a-fA-F_]*(?:\.(?!\.)[0-9a-fA-F_]*)?"
    r"|0[oO][0-7_]*(?:\.(?!\.)[0-7_]*)?(?:[eE][+-]?[0-7_]*)?"
    r"|0[bB][01_]*(?:\.(?!\.)[01_]*)?(?:[eE][+-]?[01_]*)?"
    r"|[0-9][0-9_]*(?:\.(?!\.)[0-9_]*)?(?:[eE][+-]?[0-9_]*)?"
    r"|\.[0-9][0-9_]*(?:\.(?!\.)[0-9_]*)?(?:[eE][+-]?[0-9_]*)?)"
)

_PREDICATE_NAMES = "|".join(sorted(PREDICATES, key=len, reverse=True))

GRAMMAR = rf"""
start: expr (";" expr)* ";"?

?sequence: expr (";" expr)*

?expr: ternary
     | let_expr
     | if_expr

!let_expr: "let" binding_name "=" expr ";" sequence
!binding_name: NAME | PRED_NAME
!if_expr: "if" expr "{{" sequence "}}" "else" (if_expr | "{{" sequence "}}")

!?ternary: pipe
         | pipe "?" expr ":" expr                              -> conditional
         | pipe "?" ":" expr                                   -> elvis

!?pipe: or_expr
      | pipe "|" NAME "(" [arguments] ")"                      -> piped_call
      | pipe "|" PRED_NAME "(" [closure_arguments] ")"         -> piped_closure_call

!?or_expr: and_expr
         | or_expr ("or" | "||") and_expr                      -> binary
!?and_expr: comparison
          | and_expr ("and" | "&&") comparison                 -> binary
?comparison: range_expr
           | range_expr (comparator range_expr)+               -> comparison
!comparator: "==" | "!=" | "<" | ">" | "<=" | ">=" | _negatable | "not" _negatable
!_negatable: "in" | "matches" | "contains" | "startsWith" | "endsWith"
!?range_expr: add_expr
            | range_expr ".." add_expr                         -> binary
!?add_expr: mul_expr
          | add_expr ("+" | "-") mul_expr                      -> binary
!?mul_expr: pow_expr
          | mul_expr ("*" | "/" | "%") pow_expr                -> binary
!?pow_expr: coalesce
          | coalesce ("**" | "^") pow_expr                     -> binary
!?coalesce: operand
          | coalesce "??" operand                              -> coalesce
?operand: postfix
        | unary
        | keyword_literal
!unary: ("not" | "!") mul_expr
      | ("-" | "+") pow_expr
!keyword_literal: "true" | "false" | "nil"

!?postfix: primary
         | postfix "." member_name                             -> member
         | postfix "?." member_name                            -> optional_member
         | postfix "[" expr "]"                                -> index
         | postfix "?." "[" expr "]"                           -> optional_index
         | postfix "[" [expr] ":" [expr] "]"                   -> slice
         | postfix ("." | "?.") member_name "(" [arguments] ")" -> method_call

!?primary: NUMBER                                              -> number
         | STRING                                              -> string
         | NAME                                                -> identifier
         | PRED_NAME                                           -> identifier
         | NAME "(" [arguments] ")"                            -> call
         | PRED_NAME "(" closure_arguments ")"                 -> closure_call
         | paren
         | "[" [arguments] "]"                                 -> array
         | "{{" [entries] "}}"                                 -> map
         | "#" [NAME]                                          -> pointer
         | "." member_name                                     -> pointer_member

!paren: "(" sequence ")"
arguments: expr ("," expr)* ","?
closure_arguments: closure_argument ("," closure_argument)* ","?
!?closure_argument: expr
                 | "{{" sequence "}}"                          -> block
entries: entry ("," entry)* ","?
!entry: map_key ":" expr
!map_key: NAME | PRED_NAME | "true" | "false" | "nil" | NUMBER | STRING | paren
!member_name: NAME | PRED_NAME | "true" | "false" | "nil" | "not" | "in" | "and" | "or"
            | "matches" | "contains" | "startsWith" | "endsWith" | "let" | "if" | "else"

PRED_NAME.2: /(?:{_PREDICATE_NAMES})(?![\w$])/
NAME: /(?![0-9])[\w$]+/
NUMBER: /{NUMBER_PREFIX}[\w$]*/
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/ | /`(?:[^`]|``)*`/
LINE_COMMENT: /\/\/[^\n]*/
BLOCK_COMMENT.3: /\/\*(?s:.)*?\*\//
UNCLOSED_COMMENT.2: /\/\*(?s:.)*/
%ignore LINE_COMMENT
%ignore BLOCK_COMMENT
%ignore UNCLOSED_COMMENT
%ignore /\s+/
"""
