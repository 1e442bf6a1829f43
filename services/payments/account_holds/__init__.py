"""Account holds: what the front office's tickets and assistance applications put on an account
(`account_hold.placed` / `account_hold.released`), and which accounts are held from what. A
dispute hold is a dispute (collections' one dispute command: statements and collections wait);
a financial assistance or financing hold keeps the account from the collections path only
(its statements continue)."""
