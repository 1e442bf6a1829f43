"""The account cycle and the practice's dunning sequence.

Once per cycle (the daily worker, or an operator for a chosen date) each account is told, in
one notice with its parts in order, what concerns it: its payment plan's installments missed
and coming due, and at most one step of its dunning sequence: statements at 0, 30, 60 and 90
days (settings), a final notice, then after a waiting period the referral to collections. A
statement run starts the sequence of accounts that owe. Each step is recorded (a sequence per
time an account runs through the policy); a dispute (the API's or a front-office ticket's) or an
active plan pauses it, a zero balance closes it. An assistance application or financing (a
front-office hold from collections) lets its statements go on and holds the final notice and
the referral."""
