// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SettlementToken} from "SettlementToken.sol";

/// @title Settlement
/// @notice The clearing house of a CCEI market: participants keep tokens in escrow here and the
///         operator settles each market round as one batch whose trades are netted per
///         participant, so every participant's balance is written once per batch.
/// @dev Batch settlement with netting follows the pattern of CoW Protocol's GPv2Settlement
///      (one entry point, operator allow-list, fills recorded); the code is this project's.
contract Settlement {
    /// @notice The most trades one batch may carry; keeps a batch far below the block gas limit.
    uint256 public constant MAX_BATCH_TRADES = 256;

    /// @notice One cleared trade. `buyer` and `seller` index the batch's participant list.
    struct Trade {
        uint32 buyer;
        uint32 seller;
        uint64 price;
        uint64 quantity;
    }

    SettlementToken public immutable token;
    address public admin;

    mapping(address account => bool) public isOperator;
    mapping(address account => uint256) public balanceOf;
    mapping(uint256 batchId => bool) public batchSettled;

    event OperatorSet(address indexed account, bool enabled);
    event Deposited(address indexed from, address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event TradeSettled(
        uint256 indexed batchId, uint256 index, address indexed buyer, address indexed seller, uint256 price, uint256 quantity
    );
    event BatchSettled(uint256 indexed batchId, uint256 trades, uint256 volume);

    error NotAdmin(address caller);
    error NotOperator(address caller);
    error ZeroAmount();
    error BatchAlreadySettled(uint256 batchId);
    error BatchTooLarge(uint256 trades, uint256 max);
    error ParticipantOutOfRange(uint256 tradeIndex, uint256 participantIndex);
    error InsufficientEscrow(address account, uint256 balance, uint256 needed);
    error TransferFailed();

    constructor(SettlementToken token_, address admin_) {
        token = token_;
        admin = admin_;
    }

    /// @notice Adds or removes a batch operator.
    /// @param account The operator account.
    /// @param enabled True to allow, false to remove.
    function setOperator(address account, bool enabled) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        isOperator[account] = enabled;
        emit OperatorSet(account, enabled);
    }

    /// @notice Moves `amount` tokens from the caller into `account`'s escrow balance.
    /// @dev The caller must have approved this contract for `amount` on the token.
    /// @param account Whose escrow balance is credited.
    /// @param amount Micro-units to deposit.
    function depositFor(address account, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        balanceOf[account] += amount;
        emit Deposited(msg.sender, account, amount);
        if (!token.transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
    }

    /// @notice Withdraws `amount` of the caller's free escrow balance to the caller.
    /// @param amount Micro-units to withdraw.
    function withdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender];
        if (balance < amount) revert InsufficientEscrow(msg.sender, balance, amount);
        balanceOf[msg.sender] = balance - amount;
        emit Withdrawn(msg.sender, amount);
        if (!token.transfer(msg.sender, amount)) revert TransferFailed();
    }

    /// @notice Settles one market round: pays each trade's `price * quantity` from buyer to seller,
    ///         netted per participant. All-or-nothing; a batch id settles at most once.
    /// @param batchId Unique id of the round.
    /// @param participants Addresses the trades index into.
    /// @param trades The cleared trades.
    function settleBatch(uint256 batchId, address[] calldata participants, Trade[] calldata trades) external {
        if (!isOperator[msg.sender]) revert NotOperator(msg.sender);
        if (batchSettled[batchId]) revert BatchAlreadySettled(batchId);
        if (trades.length > MAX_BATCH_TRADES) revert BatchTooLarge(trades.length, MAX_BATCH_TRADES);
        batchSettled[batchId] = true;

        uint256 n = participants.length;
        int256[] memory delta = new int256[](n);
        uint256 volume;
        for (uint256 i = 0; i < trades.length; ++i) {
            Trade calldata t = trades[i];
            if (t.buyer >= n) revert ParticipantOutOfRange(i, t.buyer);
            if (t.seller >= n) revert ParticipantOutOfRange(i, t.seller);
            uint256 amount = uint256(t.price) * uint256(t.quantity);
            delta[t.buyer] -= int256(amount);
            delta[t.seller] += int256(amount);
            volume += amount;
            emit TradeSettled(batchId, i, participants[t.buyer], participants[t.seller], t.price, t.quantity);
        }
        for (uint256 p = 0; p < n; ++p) {
            int256 d = delta[p];
            if (d == 0) continue;
            address account = participants[p];
            uint256 balance = balanceOf[account];
            if (d < 0) {
                uint256 debit = uint256(-d);
                if (balance < debit) revert InsufficientEscrow(account, balance, debit);
                balanceOf[account] = balance - debit;
            } else {
                balanceOf[account] = balance + uint256(d);
            }
        }
        emit BatchSettled(batchId, trades.length, volume);
    }
}
