// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessRoles} from "AccessRoles.sol";
import {IERC20} from "IERC20.sol";
import {Pausable} from "Pausable.sol";
import {ParticipantRegistry} from "ParticipantRegistry.sol";
import {ReentrancyGuard} from "ReentrancyGuard.sol";

/// @title Settlement
/// @notice The clearing house of a CCEI market. Participants keep tokens in escrow here; the
///         operator settles each market round as one batch. Every trade is authorised by the
///         payer's EIP-712 signed order, so the operator cannot move a participant's funds without
///         that participant's signature; payments are netted so each participant's balance is
///         written once per batch.
/// @dev One batch entry point, every order's signature and limit checked and its fill recorded,
///      operator allow-list and reentrancy guard: the pattern of CoW Protocol's GPv2Settlement.
///      Typed-data signing per EIP-712; high-s signatures refused per EIP-2.
///      The code is this project's.
contract Settlement is Pausable, ReentrancyGuard {
    /// @notice The most trades (and the most signed orders) one batch may carry.
    uint256 public constant MAX_BATCH_TRADES = 256;
    /// @notice The most participants one batch may list.
    uint256 public constant MAX_BATCH_PARTICIPANTS = 512;
    /// @notice EIP-712 type hash of `Order`.
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint64 orderId,uint8 resource,uint64 limitPrice,uint64 quantity,uint64 expiry)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("CCEI Settlement");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// @dev secp256k1 group order / 2: larger `s` values are the malleable twins (EIP-2).
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev The registry's operator capacity bit (`ParticipantRegistry.OPERATOR`).
    uint8 private constant OPERATOR = 1;

    /// @notice A payer's order: `owner` pays at most `limitPrice` per unit for at most `quantity`
    ///         units of `resource`, until `expiry` (inclusive, unix seconds).
    struct Order {
        address owner;
        uint64 orderId;
        uint8 resource;
        uint64 limitPrice;
        uint64 quantity;
        uint64 expiry;
    }

    /// @notice An order with its signature and the index of its owner in the batch's participants.
    struct SignedOrder {
        Order order;
        uint32 party;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A cleared trade: fills `quantity` of signed order `order` at `price`, paid to
    ///         participant `seller`.
    struct Trade {
        uint32 order;
        uint32 seller;
        uint64 price;
        uint64 quantity;
    }

    /// @dev What a batch's trades add up to: net change per participant, fill per order, volume.
    struct Totals {
        int256[] delta;
        uint256[] fills;
        uint256 volume;
    }

    /// @notice The token escrow is held in.
    IERC20 public immutable token;
    /// @notice Who may trade and who operates.
    ParticipantRegistry public immutable registry;
    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    /// @notice Escrow balance of each account, in token micro-units.
    mapping(address account => uint256) public balanceOf;
    /// @notice Whether a batch id has been settled.
    mapping(uint256 batchId => bool) public batchSettled;
    /// @notice Units filled so far of each owner's order (the maximum uint64 once cancelled).
    mapping(address owner => mapping(uint64 orderId => uint64)) public filled;

    event Deposited(address indexed from, address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event OrderCancelled(address indexed owner, uint64 orderId);
    event TradeSettled(
        uint256 indexed batchId,
        address indexed buyer,
        address indexed seller,
        uint64 orderId,
        uint8 resource,
        uint256 price,
        uint256 quantity
    );
    event BatchSettled(uint256 indexed batchId, uint256 trades, uint256 volume);

    error NotOperator(address caller);
    error ZeroAmount();
    error BatchAlreadySettled(uint256 batchId);
    error EmptyBatch();
    error BatchTooLarge(uint256 size, uint256 max);
    error ParticipantsNotSorted(uint256 index);
    error NotRegistered(address account);
    error OrderFieldOutOfRange(uint256 orderIndex);
    error PartyOutOfRange(uint256 orderIndex, uint256 party);
    error PartyMismatch(uint256 orderIndex, address party, address owner);
    error OrderExpired(address owner, uint64 orderId, uint64 expiry);
    error SignatureMalleable(uint256 orderIndex);
    error InvalidSigner(uint256 orderIndex, address recovered, address owner);
    error OrderOutOfRange(uint256 tradeIndex, uint256 order);
    error SellerOutOfRange(uint256 tradeIndex, uint256 seller);
    error AmountOutOfRange(uint256 tradeIndex);
    error PriceAboveLimit(uint256 tradeIndex, uint256 price, uint256 limit);
    error OrderOverfilled(address owner, uint64 orderId, uint256 filled, uint256 quantity);
    error InsufficientEscrow(address account, uint256 balance, uint256 needed);
    error TransferFailed();

    constructor(IERC20 token_, ParticipantRegistry registry_, address admin) AccessRoles(admin) {
        token = token_;
        registry = registry_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    /// @notice The EIP-712 domain separator: name "CCEI Settlement", version "1", this chain, this contract.
    /// @return The separator (recomputed if the chain id changed since deployment).
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice The EIP-712 digest a payer signs for `order`.
    /// @param order The order.
    /// @return The digest `keccak256("\x19\x01" || domainSeparator || hashStruct(order))`.
    function orderDigest(Order calldata order) external view returns (bytes32) {
        uint256 at;
        assembly ("memory-safe") {
            at := order
        }
        if (!_orderFieldsInRange(at)) revert OrderFieldOutOfRange(0);
        return _orderDigest(domainSeparator(), at);
    }

    /// @notice Moves `amount` tokens from the caller into `account`'s escrow balance.
    /// @dev The caller must have approved this contract for `amount` on the token. The operator
    ///      funds participants this way, so they need no gas of their own.
    /// @param account Whose escrow balance is credited.
    /// @param amount Micro-units to deposit.
    function depositFor(address account, uint256 amount) external whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (account == address(0)) revert ZeroAddress();
        balanceOf[account] += amount;
        emit Deposited(msg.sender, account, amount);
        if (!token.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
    }

    /// @notice Withdraws `amount` of the caller's escrow balance to the caller. Works while paused.
    /// @param amount Micro-units to withdraw.
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender];
        if (balance < amount) revert InsufficientEscrow(msg.sender, balance, amount);
        balanceOf[msg.sender] = balance - amount;
        emit Withdrawn(msg.sender, amount);
        if (!token.transfer(msg.sender, amount)) revert TransferFailed();
    }

    /// @notice Cancels one of the caller's orders: no later batch can fill it any further.
    /// @param orderId The order's id.
    function cancelOrder(uint64 orderId) external {
        filled[msg.sender][orderId] = type(uint64).max;
        emit OrderCancelled(msg.sender, orderId);
    }

    /// @notice Settles one market round, all or nothing. Checks, in this order: pause, operator,
    ///         batch id unused, non-empty, sizes; participants strictly ascending and registered;
    ///         each signed order's party, expiry and signature; each trade's indices and price
    ///         limit; each order's cumulative fill; each participant's escrow against its net debit.
    /// @param batchId Unique id of the round; settles at most once.
    /// @param participants Addresses the orders and trades index into, strictly ascending.
    /// @param orders The payers' signed orders.
    /// @param trades The cleared trades.
    function settleBatch(
        uint256 batchId,
        address[] calldata participants,
        SignedOrder[] calldata orders,
        Trade[] calldata trades
    ) external whenNotPaused nonReentrant {
        if (!registry.hasRoles(msg.sender, OPERATOR)) revert NotOperator(msg.sender);
        if (batchSettled[batchId]) revert BatchAlreadySettled(batchId);
        if (trades.length == 0) revert EmptyBatch();
        if (trades.length > MAX_BATCH_TRADES) revert BatchTooLarge(trades.length, MAX_BATCH_TRADES);
        if (orders.length > MAX_BATCH_TRADES) revert BatchTooLarge(orders.length, MAX_BATCH_TRADES);
        if (participants.length > MAX_BATCH_PARTICIPANTS) {
            revert BatchTooLarge(participants.length, MAX_BATCH_PARTICIPANTS);
        }
        batchSettled[batchId] = true;

        _checkParticipants(participants);
        _checkOrders(participants, orders);
        Totals memory totals = _applyTrades(participants, orders, trades);
        _emitTrades(batchId, participants, orders, trades);
        _recordFills(orders, totals.fills);
        _applyNet(participants, totals.delta);
        emit BatchSettled(batchId, trades.length, totals.volume);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function _checkParticipants(address[] calldata participants) private view {
        uint256 n = participants.length;
        uint256 previous;
        for (uint256 p = 0; p < n; ++p) {
            uint256 account;
            assembly ("memory-safe") {
                account := calldataload(add(participants.offset, shl(5, p)))
            }
            // A word above 160 bits makes the registry's decoder revert in _firstUnregistered.
            if (p > 0 && account <= previous) revert ParticipantsNotSorted(p);
            previous = account;
        }
        uint256 missing = _firstUnregistered(participants);
        if (missing < n) revert NotRegistered(participants[missing]);
    }

    /// @dev `registry.firstUnregistered(participants)`, forwarding the calldata array as it is
    ///      instead of re-encoding it element by element.
    function _firstUnregistered(address[] calldata participants) private view returns (uint256 missing) {
        address target = address(registry);
        bytes4 selector = ParticipantRegistry.firstUnregistered.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let bytesLength := shl(5, participants.length)
            mstore(m, selector)
            mstore(add(m, 0x04), 0x20)
            mstore(add(m, 0x24), participants.length)
            calldatacopy(add(m, 0x44), participants.offset, bytesLength)
            if iszero(staticcall(gas(), target, m, add(0x44, bytesLength), 0x00, 0x20)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 0x20) { revert(0, 0) }
            missing := mload(0x00)
        }
    }

    // Calldata layout of the static structs the hot loops read word by word (the ABI decoder has
    // already checked that both arrays lie inside the calldata). Words are range-checked where it
    // matters: indices against array lengths, amounts below 2**64; the signed order fields need no
    // check of their own, because any word that differs from the signed value fails ecrecover.
    uint256 private constant ORDER_BYTES = 0x140; // owner, orderId, resource, limitPrice, quantity, expiry, party, v, r, s
    uint256 private constant TRADE_BYTES = 0x80; // order, seller, price, quantity
    uint256 private constant LIMIT_PRICE = 0x60;
    uint256 private constant PARTY = 0xc0;

    /// @dev Whether the `Order` words at calldata offset `at` fit their declared types, as
    ///      Solidity's decoder would insist: orderId, limitPrice, quantity and expiry in 64 bits,
    ///      resource in 8 (the owner word is checked against the participants). The words are read
    ///      raw, so without this an owner signature over a wider word would be accepted and the
    ///      uint64 fill record could wrap.
    function _orderFieldsInRange(uint256 at) private pure returns (bool ok) {
        assembly ("memory-safe") {
            let wide := or(or(calldataload(add(at, 0x20)), calldataload(add(at, 0x60))), or(calldataload(add(at, 0x80)), calldataload(add(at, 0xa0))))
            ok := and(iszero(shr(64, wide)), iszero(shr(8, calldataload(add(at, 0x40)))))
        }
    }

    /// @dev The EIP-712 digest of the order whose `Order` words start at calldata offset `at`.
    function _orderDigest(bytes32 separator, uint256 at) private pure returns (bytes32 digest) {
        bytes32 typeHash = ORDER_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), at, 0xc0)
            let structHash := keccak256(m, 0xe0)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    function _checkOrders(address[] calldata participants, SignedOrder[] calldata orders) private view {
        bytes32 separator = domainSeparator();
        uint256 n = participants.length;
        uint256 at;
        assembly ("memory-safe") {
            at := orders.offset
        }
        for (uint256 i = 0; i < orders.length; ++i) {
            uint256 owner;
            uint256 expiry;
            uint256 party;
            uint256 s;
            assembly ("memory-safe") {
                owner := calldataload(at)
                expiry := calldataload(add(at, 0xa0))
                party := calldataload(add(at, 0xc0))
                s := calldataload(add(at, 0x120))
            }
            if (!_orderFieldsInRange(at)) revert OrderFieldOutOfRange(i);
            if (party >= n) revert PartyOutOfRange(i, party);
            if (uint160(participants[party]) != owner) {
                revert PartyMismatch(i, participants[party], address(uint160(owner)));
            }
            if (block.timestamp > expiry) revert OrderExpired(address(uint160(owner)), orders[i].order.orderId, uint64(expiry));
            if (s > HALF_ORDER) revert SignatureMalleable(i);
            bytes32 digest = _orderDigest(separator, at);
            uint256 signer;
            assembly ("memory-safe") {
                // ecrecover precompile (address 1): (digest, v, r, s) -> signer, or no output.
                let m := mload(0x40)
                mstore(m, digest)
                calldatacopy(add(m, 0x20), add(at, 0xe0), 0x60)
                mstore(0x00, 0)
                pop(staticcall(gas(), 1, m, 0x80, 0x00, 0x20))
                signer := mload(0x00)
            }
            if (signer == 0 || signer != owner) revert InvalidSigner(i, address(uint160(signer)), address(uint160(owner)));
            unchecked {
                at += ORDER_BYTES;
            }
        }
    }

    function _applyTrades(address[] calldata participants, SignedOrder[] calldata orders, Trade[] calldata trades)
        private
        pure
        returns (Totals memory totals)
    {
        totals.delta = new int256[](participants.length);
        totals.fills = new uint256[](orders.length);
        for (uint256 i = 0; i < trades.length; ++i) {
            (uint256 o, uint256 seller, uint256 price, uint256 quantity) = _trade(trades, i);
            if (o >= orders.length) revert OrderOutOfRange(i, o);
            if (seller >= participants.length) revert SellerOutOfRange(i, seller);
            if ((price | quantity) >> 64 != 0) revert AmountOutOfRange(i);
            uint256 limit = _orderWord(orders, o, LIMIT_PRICE);
            if (price > limit) revert PriceAboveLimit(i, price, limit);
            _accumulate(totals, o, _orderWord(orders, o, PARTY), seller, price * quantity, quantity);
        }
    }

    /// @dev The four words of trade `i`: order index, seller index, price, quantity.
    function _trade(Trade[] calldata trades, uint256 i)
        private
        pure
        returns (uint256 o, uint256 seller, uint256 price, uint256 quantity)
    {
        assembly ("memory-safe") {
            let at := add(trades.offset, mul(i, TRADE_BYTES))
            o := calldataload(at)
            seller := calldataload(add(at, 0x20))
            price := calldataload(add(at, 0x40))
            quantity := calldataload(add(at, 0x60))
        }
    }

    /// @dev Word `field` (a byte offset) of signed order `o`.
    function _orderWord(SignedOrder[] calldata orders, uint256 o, uint256 field) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := calldataload(add(add(orders.offset, mul(o, ORDER_BYTES)), field))
        }
    }

    /// @dev Adds one trade to the totals. Indices were checked against the array lengths and
    ///      amounts are below 2**128, so neither the raw memory writes nor the sums overflow.
    function _accumulate(Totals memory totals, uint256 o, uint256 buyer, uint256 seller, uint256 amount, uint256 quantity)
        private
        pure
    {
        int256[] memory delta = totals.delta;
        uint256[] memory fills = totals.fills;
        unchecked {
            totals.volume += amount;
        }
        assembly ("memory-safe") {
            let f := add(fills, shl(5, add(o, 1)))
            mstore(f, add(mload(f), quantity))
            let b := add(delta, shl(5, add(buyer, 1)))
            mstore(b, sub(mload(b), amount))
            let c := add(delta, shl(5, add(seller, 1)))
            mstore(c, add(mload(c), amount))
        }
    }

    /// @dev One TradeSettled event per trade, after all of them passed their checks.
    function _emitTrades(
        uint256 batchId,
        address[] calldata participants,
        SignedOrder[] calldata orders,
        Trade[] calldata trades
    ) private {
        bytes32 topic = TradeSettled.selector;
        for (uint256 i = 0; i < trades.length; ++i) {
            assembly ("memory-safe") {
                let t := add(trades.offset, mul(i, TRADE_BYTES))
                let at := add(orders.offset, mul(calldataload(t), ORDER_BYTES))
                let m := mload(0x40)
                mstore(m, calldataload(add(at, 0x20))) // orderId
                mstore(add(m, 0x20), calldataload(add(at, 0x40))) // resource
                mstore(add(m, 0x40), calldataload(add(t, 0x40))) // price
                mstore(add(m, 0x60), calldataload(add(t, 0x60))) // quantity
                let seller := calldataload(add(participants.offset, shl(5, calldataload(add(t, 0x20)))))
                log4(m, 0x80, topic, batchId, calldataload(at), seller)
            }
        }
    }

    function _recordFills(SignedOrder[] calldata orders, uint256[] memory fills) private {
        for (uint256 i = 0; i < orders.length; ++i) {
            uint256 fill = fills[i];
            if (fill == 0) continue;
            uint256 owner;
            uint256 orderId;
            uint256 quantity;
            assembly ("memory-safe") {
                let at := add(orders.offset, mul(i, ORDER_BYTES))
                owner := calldataload(at)
                orderId := calldataload(add(at, 0x20))
                quantity := calldataload(add(at, 0x80))
            }
            mapping(uint64 => uint64) storage ofOwner = filled[address(uint160(owner))];
            uint256 total = uint256(ofOwner[uint64(orderId)]) + fill;
            if (total > quantity) revert OrderOverfilled(address(uint160(owner)), uint64(orderId), total, quantity);
            ofOwner[uint64(orderId)] = uint64(total);
        }
    }

    function _applyNet(address[] calldata participants, int256[] memory delta) private {
        for (uint256 p = 0; p < participants.length; ++p) {
            int256 d;
            address account;
            assembly ("memory-safe") {
                d := mload(add(delta, shl(5, add(p, 1))))
                account := calldataload(add(participants.offset, shl(5, p)))
            }
            if (d == 0) continue;
            uint256 balance = balanceOf[account];
            if (d < 0) {
                uint256 debit = uint256(-d);
                if (balance < debit) revert InsufficientEscrow(account, balance, debit);
                unchecked {
                    balanceOf[account] = balance - debit;
                }
            } else {
                balanceOf[account] = balance + uint256(d);
            }
        }
    }
}
