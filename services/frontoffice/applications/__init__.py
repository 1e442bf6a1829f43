"""Financial assistance applications: the documents received, one person's decision and a
second person's approval. An open application holds the account from collections; the final
outcome releases the hold, and an approval tells payments the discount to post."""
