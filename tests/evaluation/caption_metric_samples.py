"""Hand-made caption set shared by the caption metric tests."""

# Five videos with 2-3 references each. Casing and punctuation are there on
# purpose: the PTB tokenizer lower-cases and drops them before scoring.
SAMPLES = [
    dict(
        video_id='video0',
        pred_caption='A man is riding a horse on the beach.',
        gt_captions=[
            'A man rides a horse along the beach.',
            'a person is riding a brown horse',
            'Someone rides a horse by the sea.',
        ],
    ),
    dict(
        video_id='video1',
        pred_caption='a woman is cutting tomatoes',
        gt_captions=[
            'A woman slices tomatoes in a kitchen.',
            'someone is cutting vegetables',
        ],
    ),
    dict(
        video_id='video2',
        pred_caption='two dogs are playing in the snow',
        gt_captions=[
            'Two dogs play in the snow.',
            'dogs are running around in the snow',
            'two puppies playing outside in winter',
        ],
    ),
    dict(
        video_id='video3',
        pred_caption='A man plays the guitar on a stage.',
        gt_captions=[
            'A man plays the guitar on stage.',
            'a musician is playing guitar',
        ],
    ),
    dict(
        video_id='video4',
        pred_caption='a car drives down a road',
        gt_captions=[
            'A red car drives down a road.',
            'a car is moving on a highway',
            'cars drive on the street',
        ],
    ),
]

# Every scorer but METEOR, whose JVM takes ~8 s to start on a small machine.
FAST_SCORERS = ('BLEU', 'ROUGE_L', 'CIDEr')
