"""CrossClaim baselines (the package ``crossclaim.baselines``): one module per system, same interface.

| system | module | what |
|---|---|---|
| ``regex`` | ``regex`` | rules for figures (with values), hedge cues, hedged claims and claim pairs |
| ``crf`` | ``crf`` | sklearn-crfsuite on the token view for entities, figures and hedge cues |
| ``spacy-sm`` | ``spacy_sm`` | zero-shot spaCy ``en_core_web_sm`` 3.8.0 with an OntoNotes label mapping |
| ``sentence-logreg`` | ``sentence_logreg`` | TF-IDF + logistic regression sentence classifier for hedged claims |
"""
